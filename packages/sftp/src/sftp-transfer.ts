import type { Readable } from 'node:stream';
import {
  type Lease,
  abortError,
  redactUrl,
  type OpenRequest,
  type RemoteMetadata,
  type RemoteResource,
} from '@dl/core';
import { toSftpError } from './sftp-errors.js';
import type { SftpConnection, SftpSessionInternals } from './sftp-session.js';
import type { SftpTarget } from './sftp-target.js';

/** How long a destroyed read stream may take to close its remote handle before the connection is dropped. */
const HANDLE_CLOSE_MS = 2000;

function changedSince(
  previous: RemoteMetadata | undefined,
  size: number,
  lastModified: string,
): boolean {
  if (previous === undefined) return false;
  if (previous.size !== undefined && previous.size !== size) return true;
  return previous.lastModified !== undefined && previous.lastModified !== lastModified;
}

/**
 * Runs one download on a leased SSH connection: stat (size, modification
 * time), then a read stream from the offset, returned once the remote file
 * is open so that a failure before any data rejects `open`. The connection
 * goes back to the pool as soon as the file was read to the end. Aborting,
 * or a reader that stops early, destroys the stream and closes the
 * connection, so nothing of a cancelled transfer stays open.
 */
export async function transfer(
  session: SftpSessionInternals,
  lease: Lease<SftpConnection>,
  target: SftpTarget,
  request: OpenRequest,
): Promise<RemoteResource> {
  const { signal, url } = request;
  const connection = lease.connection;
  const secrets = [...session.secrets, ...(target.password === undefined ? [] : [target.password])];
  const fail = (error: unknown) =>
    signal.aborted ? abortError(signal.reason, url) : toSftpError(error, url, secrets);

  let settled = false;
  let stream: Readable | undefined = undefined;
  let fallback: NodeJS.Timeout | undefined;
  const settle = (keep: boolean) => {
    if (settled) return;
    settled = true;
    clearTimeout(fallback);
    signal.removeEventListener('abort', onAbort);
    connection.ssh.removeListener('close', onConnectionClose);
    if (keep && !connection.broken) lease.release();
    else lease.discard();
  };
  /** The stream failed: give its handle a moment to close (then it is reusable), else drop the connection. */
  const windDown = () => {
    if (settled || fallback !== undefined) return;
    fallback = setTimeout(() => settle(false), HANDLE_CLOSE_MS);
    fallback.unref();
  };
  const onConnectionClose = () => settle(false);
  const onAbort = () => {
    if (stream === undefined) {
      // A stat or open is in flight and SFTP cannot cancel it: drop the connection.
      settle(false);
      return;
    }
    // Cancellation closes the connection too: nothing of an aborted transfer stays open.
    stream.destroy();
    settle(false);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  connection.ssh.on('close', onConnectionClose);

  let size: number;
  let lastModified: string;
  try {
    const stats = await connection.client.stat(target.path);
    if (settled) throw abortError(signal.reason, url);
    if (!stats.isFile) {
      throw toSftpError(Object.assign(new Error('No such file'), { code: 2 }), url, secrets);
    }
    size = stats.size;
    lastModified = new Date(stats.modifyTime).toUTCString();
  } catch (error) {
    settle(true);
    throw fail(error);
  }

  let offset = request.offset;
  if (offset > 0 && (offset > size || changedSince(request.resumeFrom, size, lastModified))) {
    session.log.debug('sftp: the file changed or shrank; restarting from byte 0', {
      url: redactUrl(url),
    });
    offset = 0;
  }
  const end = request.end === undefined ? size - 1 : Math.min(request.end, size - 1);
  const metadata: RemoteMetadata = {
    url: redactUrl(url),
    size,
    offset,
    length: Math.max(0, end - offset + 1),
    lastModified,
    headers: {},
  };

  if (metadata.length === 0) {
    settle(true);
    return { metadata, body: (async function* empty() {})() };
  }

  let readable: Readable;
  try {
    readable = connection.client.createReadStream(target.path, {
      start: offset,
      end,
      highWaterMark: session.chunkSize,
    }) as unknown as Readable;
  } catch (error) {
    settle(true);
    throw fail(error);
  }
  stream = readable;
  // ssh2 emits a second error when closing the handle fails; nobody may be listening by then.
  readable.on('error', windDown);
  // Read to the end: the handle's CLOSE is already queued on the channel, and SFTP carries many
  // requests at once, so the next transfer need not wait for its reply.
  let ended = false;
  readable.on('end', () => {
    ended = true;
    settle(true);
  });
  readable.on('close', () => settle(true));
  if (signal.aborted) onAbort();

  await new Promise<void>((resolve, reject) => {
    const onOpen = () => {
      readable.off('error', onError);
      resolve();
    };
    const onError = (error: unknown) => {
      readable.off('open', onOpen);
      reject(fail(error));
    };
    readable.once('open', onOpen);
    readable.once('error', onError);
  });

  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of readable) yield chunk as Uint8Array;
    } catch (error) {
      throw fail(error);
    } finally {
      if (!ended) {
        // The reader stopped early or the read failed: end the transfer and its connection.
        readable.destroy();
        settle(false);
      }
    }
  }
  return { metadata, body: body() };
}
