import { PassThrough, Writable } from 'node:stream';
import type { Client } from 'basic-ftp';
import {
  type Lease,
  DownloadError,
  ErrorCodes,
  abortError,
  redactUrl,
  type OpenRequest,
  type RemoteMetadata,
  type RemoteResource,
} from '@dl/core';
import { replyCode, toFtpError } from './ftp-errors.js';
import type { FtpSessionInternals } from './ftp-session.js';
import type { FtpTarget } from './ftp-target.js';

/** Reply codes meaning "this command is not implemented" (SIZE, MDTM are extensions). */
const UNSUPPORTED = new Set([500, 501, 502, 504]);

async function optional<T>(task: () => Promise<T>): Promise<T | undefined> {
  try {
    return await task();
  } catch (error) {
    if (UNSUPPORTED.has(replyCode(error) ?? 0)) return undefined;
    throw error;
  }
}

/** True when the file differs from the one whose bytes are being resumed. */
function changedSince(
  previous: RemoteMetadata | undefined,
  size: number | undefined,
  lastModified: string | undefined,
) {
  if (previous === undefined) return false;
  if (previous.size !== undefined && size !== undefined && previous.size !== size) return true;
  return (
    previous.lastModified !== undefined &&
    lastModified !== undefined &&
    previous.lastModified !== lastModified
  );
}

/**
 * Runs one download on a leased client: SIZE (and MDTM), then RETR (after
 * REST when resuming) into a PassThrough that is returned as the body once
 * the first byte arrived, so a failure before any data rejects `open`
 * instead of ending a body. basic-ftp ends its destination even when a
 * transfer fails, so it writes into a private Writable and the body is ended
 * only after the server confirmed the transfer (226). Backpressure reaches
 * the data socket through that Writable. Aborting (signal, or the consumer
 * destroying the body) closes the client, data connection included, and
 * drops it from the pool.
 */
export function transfer(
  session: FtpSessionInternals,
  lease: Lease<Client>,
  target: FtpTarget,
  request: OpenRequest,
): Promise<RemoteResource> {
  const { signal, url } = request;
  const client = lease.connection;
  const secrets = [...session.secrets, target.password];
  const fail = (error: unknown) =>
    signal.aborted ? abortError(signal.reason, url) : toFtpError(error, url, secrets);

  let settled = false;
  let transferring = false;
  let body: PassThrough | undefined;
  let rejectOpen: ((error: unknown) => void) | undefined;

  const settle = (keep: boolean) => {
    if (settled) return;
    settled = true;
    signal.removeEventListener('abort', onAbort);
    if (keep && !client.closed) {
      lease.release();
    } else {
      client.close();
      lease.discard();
    }
  };
  const onAbort = () => {
    const error = abortError(signal.reason, url);
    settle(false);
    body?.destroy(error);
    rejectOpen?.(error);
  };
  signal.addEventListener('abort', onAbort, { once: true });

  return new Promise<RemoteResource>((resolve, reject) => {
    rejectOpen = reject;
    void (async () => {
      let size: number | undefined;
      let lastModified: string | undefined;
      try {
        size = await optional(() => client.size(target.path));
        if (session.modificationTime) {
          lastModified = (await optional(() => client.lastMod(target.path)))?.toUTCString();
        }
      } catch (error) {
        const failure = fail(error);
        settle(replyCode(error) !== undefined);
        reject(failure);
        return;
      }
      if (settled) return;

      let offset = request.offset;
      if (
        offset > 0 &&
        ((size !== undefined && offset > size) ||
          changedSince(request.resumeFrom, size, lastModified))
      ) {
        session.log.debug('ftp: the file changed or shrank; restarting from byte 0', {
          url: redactUrl(url),
        });
        offset = 0;
      }
      // FTP has no ranged RETR: a range ends by cutting the transfer (and its connection) short.
      const last = request.end === undefined ? size : Math.min(request.end + 1, size ?? Infinity);
      let remaining = last === undefined ? Infinity : Math.max(0, last - offset);
      let cut = false;
      const metadata: RemoteMetadata = {
        url: redactUrl(url),
        offset,
        headers: {},
        ...(size === undefined ? {} : { size }),
        ...(remaining === Infinity ? {} : { length: remaining }),
        ...(lastModified === undefined ? {} : { lastModified }),
      };

      const out = new PassThrough();
      // Failures reach a reader through its iterator or pipe; a body nobody reads must not crash the process.
      out.on('error', () => {});
      body = out;
      let opened = false;
      const open = () => {
        if (opened) return;
        opened = true;
        resolve({ metadata, body: out });
      };
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          open();
          if (cut) {
            callback();
            return;
          }
          if (chunk.byteLength >= remaining && request.end !== undefined) {
            cut = true;
            out.end(chunk.subarray(0, remaining));
            settle(false);
            callback();
            return;
          }
          remaining -= chunk.byteLength;
          if (out.destroyed || out.write(chunk)) {
            callback();
            return;
          }
          const go = () => {
            out.off('drain', go);
            out.off('close', go);
            callback();
          };
          out.on('drain', go);
          out.on('close', go);
        },
        // basic-ftp ends the sink on failures too: the body is ended only after the server's 226.
        final(callback) {
          callback();
        },
      });
      out.on('close', () => {
        // The consumer stopped reading before the transfer finished: free the connection now.
        if (transferring) settle(false);
      });

      transferring = true;
      client.downloadTo(sink, target.path, offset).then(
        () => {
          transferring = false;
          settle(true);
          // The server confirmed (226), yet the data connection ended short of what SIZE
          // announced: a cut connection, never the whole file.
          if (!cut && remaining > 0 && remaining !== Infinity) {
            const announced = last! - offset;
            const failure = new DownloadError(
              `FTP data connection ended after ${announced - remaining} of ${announced} bytes`,
              { code: ErrorCodes.ProtocolError, retryable: true, url },
            );
            if (opened) out.destroy(failure);
            else {
              out.destroy();
              reject(failure);
            }
            return;
          }
          open();
          if (!cut) out.end();
        },
        (error: unknown) => {
          transferring = false;
          if (cut) return;
          const failure = fail(error);
          // A refused RETR (4xx/5xx reply) leaves the control connection usable.
          settle(replyCode(error) !== undefined && !signal.aborted);
          if (opened) out.destroy(failure);
          else {
            out.destroy();
            reject(failure);
          }
        },
      );
    })();
  });
}
