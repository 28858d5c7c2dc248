import {
  DownloadError,
  ErrorCodes,
  type AdapterCapabilities,
  type AdapterSession,
  type ProtocolAdapter,
} from '@dl/core';

/** The session of a {@link lazyAdapter}: the loaded adapter and its own session. */
export interface LazySession extends AdapterSession {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly adapter: ProtocolAdapter<any>;
  readonly session: AdapterSession;
}

/**
 * An adapter whose module is imported only when its first session is
 * created: a run that never meets an `sftp:` URL never loads ssh2. What the
 * core needs up front (name, schemes, capabilities) is declared here and
 * checked against the real adapter once it is loaded.
 */
export function lazyAdapter(
  declared: Pick<ProtocolAdapter, 'name' | 'schemes' | 'capabilities'>,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  load: () => Promise<ProtocolAdapter<any>>,
  /** The options the real adapter's `toJSON()` would return (secrets by reference only), for `factory.toJSON()`. */
  json?: () => unknown,
): ProtocolAdapter<LazySession> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let loading: Promise<ProtocolAdapter<any>> | undefined;
  return {
    ...declared,
    async createSession(context) {
      const adapter = await (loading ??= load().then((real) => {
        if (!sameCapabilities(real.capabilities, declared.capabilities)) {
          throw new DownloadError(
            `The ${declared.name} adapter's capabilities changed; update the CLI`,
            {
              code: ErrorCodes.Internal,
            },
          );
        }
        return real;
      }));
      const session: AdapterSession = await adapter.createSession(context);
      return {
        adapter,
        session,
        close: () => session.close(),
        destroy: () => (session.destroy ?? session.close).call(session),
        maxTransfers: (origin) => session.maxTransfers?.(origin),
        transfersPerConnection: (origin) => session.transfersPerConnection?.(origin),
      };
    },
    open: (lazy, request) => lazy.adapter.open(lazy.session, request),
    ...(json === undefined ? {} : { toJSON: json }),
  };
}

function sameCapabilities(a: AdapterCapabilities, b: AdapterCapabilities): boolean {
  return (
    a.resume === b.resume &&
    a.transfersPerConnection === b.transfersPerConnection &&
    a.metadataBeforeBody === b.metadataBeforeBody
  );
}
