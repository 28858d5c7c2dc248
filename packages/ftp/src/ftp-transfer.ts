import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Client, FTPResponse, TaskResolver } from 'basic-ftp';
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

/** The size most servers put in their `150` reply: `150 Opening BINARY mode data connection for f (16384 bytes).` */
const ANNOUNCED_SIZE = /\((\d+) bytes?\)/i;

async function optional<T>(task: () => Promise<T>): Promise<T | undefined> {
  try {
    return await task();
  } catch (error) {
    if (UNSUPPORTED.has(replyCode(error) ?? 0)) return undefined;
    throw error;
  }
}

/**
 * Runs `task` with stack traces off. basic-ftp captures a stack trace for
 * every command it sends (for a diagnostic nobody reads here); per file that
 * is most of its own CPU time.
 */
function withoutStacks<T>(task: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return task();
  } finally {
    Error.stackTraceLimit = limit;
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

/** basic-ftp's own whitespace rule: a path starting with a space is made absolute. */
async function commandPath(client: Client, path: string): Promise<string> {
  if (!path.startsWith(' ')) return path;
  const pwd = await client.pwd();
  return `${pwd.endsWith('/') ? pwd : `${pwd}/`}${path}`;
}

/**
 * Runs one download on a leased client: `SIZE` and `MDTM` when they are
 * needed (below), then `EPSV`/`PASV` and `RETR` (after `REST` when resuming).
 * The body is a Readable fed by the data socket; it is returned once the
 * first byte arrived, so a failure before any data rejects `open` instead of
 * ending a body, and it ends only after the server confirmed the transfer
 * (226). While nobody reads the body the data socket is paused. Aborting
 * (signal, or the consumer destroying the body) closes the client, data
 * connection included, and drops it from the pool.
 *
 * A first attempt that already knows the size to expect skips `SIZE`: the
 * size comes from the `150` reply when the server says it there, and a body
 * that ends short of it is told apart from a short file by asking `SIZE`
 * then. `MDTM` is asked when the options want it, or by default when no
 * digest guards the bytes (then it is what detects a file replaced between
 * an attempt and its resumption).
 */
export function transfer(
  session: FtpSessionInternals,
  lease: Lease<Client>,
  target: FtpTarget,
  request: OpenRequest,
): Promise<RemoteResource> {
  const { signal, url } = request;
  const client = lease.connection;
  const ftp = client.ftp;
  const fail = (error: unknown) =>
    signal.aborted
      ? abortError(signal.reason, url)
      : toFtpError(error, url, [...session.secrets, target.password]);

  let settled = false;
  let transferring = false;
  let body: Readable | undefined;
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
    const download = request.download;
    const fresh = request.offset === 0 && request.resumeFrom === undefined;
    const expectedSize = download.size;
    const askSize = !(fresh && request.end === undefined && expectedSize !== undefined);
    const digestGuarded =
      download.range === undefined &&
      download.digests !== undefined &&
      Object.values(download.digests).some((digest) => digest !== undefined);
    const askTime =
      session.modificationTime === true ||
      (session.modificationTime === undefined && !digestGuarded);

    void (async () => {
      let size: number | undefined;
      let lastModified: string | undefined;
      let path: string;
      try {
        path = await commandPath(client, target.path);
        if (askSize) size = await optional(() => client.size(path));
        if (askTime) lastModified = (await optional(() => client.lastMod(path)))?.toUTCString();
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
      let last: number | undefined;
      let remaining = Infinity;
      const plan = () => {
        last = request.end === undefined ? size : Math.min(request.end + 1, size ?? Infinity);
        remaining = last === undefined ? Infinity : Math.max(0, last - offset);
      };
      plan();
      let cut = false;
      let received = 0;

      let data: Socket | undefined;
      let paused = false;
      const out = new Readable({
        highWaterMark: 64 * 1024,
        read() {
          if (paused) {
            paused = false;
            data?.resume();
          }
        },
      });
      // Failures reach a reader through its iterator or pipe; a body nobody reads must not crash the process.
      out.on('error', () => {});
      out.on('close', () => {
        // The consumer stopped reading before the transfer finished: free the connection now.
        if (transferring) settle(false);
      });
      body = out;

      let opened = false;
      const open = () => {
        if (opened) return;
        opened = true;
        const metadata: RemoteMetadata = {
          url: redactUrl(url),
          offset,
          headers: {},
          ...(size === undefined ? {} : { size }),
          ...(remaining === Infinity ? {} : { length: remaining }),
          ...(lastModified === undefined ? {} : { lastModified }),
        };
        resolve({ metadata, body: out });
      };
      const onData = (chunk: Buffer) => {
        open();
        if (cut) return;
        received += chunk.byteLength;
        if (chunk.byteLength >= remaining && request.end !== undefined) {
          cut = true;
          out.push(chunk.subarray(0, remaining));
          out.push(null);
          settle(false);
          return;
        }
        remaining -= chunk.byteLength;
        if (!out.push(chunk) && !out.destroyed) {
          paused = true;
          data?.pause();
        }
      };

      // The transfer is over when both the data connection ended and the server replied (226).
      let dataDone = false;
      let reply: FTPResponse | undefined;
      let task: TaskResolver | undefined;
      const tryResolve = () => {
        if (!dataDone || reply === undefined || task === undefined) return;
        ftp.dataSocket = undefined;
        task.resolve(reply);
      };
      const onDataEnd = () => {
        // Hand timeout tracking back to the control connection, which now waits for the 226.
        ftp.socket.setTimeout(ftp.timeout);
        data?.setTimeout(0);
        dataDone = true;
        tryResolve();
      };

      transferring = true;
      const started = (async () => {
        await withoutStacks(() => client.prepareTransfer(ftp));
        if (settled) throw new Error('Client is closed');
        const command = offset > 0 ? `REST ${offset}` : `RETR ${path}`;
        return withoutStacks(
          () =>
            ftp.handle(command, (response, resolver) => {
              if (response instanceof Error) {
                ftp.dataSocket = undefined;
                resolver.reject(response);
              } else if (response.code === 150 || response.code === 125) {
                const socket = ftp.dataSocket;
                if (socket === undefined) {
                  resolver.reject(
                    new Error('Download should begin but no data connection is open'),
                  );
                  return;
                }
                task = resolver;
                if (size === undefined && offset === 0 && !askSize) {
                  const announced = ANNOUNCED_SIZE.exec(response.message)?.[1];
                  if (announced !== undefined) {
                    size = Number(announced);
                    plan();
                  }
                }
                // The data socket tracks timeouts while data flows; the control one sits idle meanwhile.
                ftp.socket.setTimeout(0);
                socket.setTimeout(ftp.timeout);
                data = socket as Socket;
                socket.on('data', onData);
                socket.once('end', onDataEnd);
              } else if (response.code === 350) {
                ftp.send(`RETR ${path}`);
              } else if (response.code >= 200 && response.code < 300) {
                reply = response;
                task = resolver;
                tryResolve();
              } else if (response.code >= 300 && response.code < 400) {
                ftp.closeWithError(
                  new Error(`Unexpected FTP response is requesting an answer: ${response.message}`),
                );
              }
            }) as Promise<FTPResponse>,
        );
      })();

      started.then(
        async () => {
          transferring = false;
          // The server confirmed (226), yet the data connection ended short of the size it
          // announced: a cut connection, never the whole file. Without an announced size but
          // with an expected one, SIZE tells a cut from a file that is shorter than expected.
          if (!cut && remaining === Infinity && expectedSize !== undefined) {
            if (received < expectedSize - offset) {
              try {
                size = await optional(() => client.size(path));
              } catch {
                size = undefined;
              }
              if (settled) return;
              if (size !== undefined) {
                last = size;
                remaining = Math.max(0, size - offset - received);
              }
            }
          }
          settle(true);
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
          if (!cut) out.push(null);
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
