import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { enterPassiveModeIPv6, type Client, type FTPResponse, type TaskResolver } from 'basic-ftp';
import {
  DownloadError,
  ErrorCodes,
  noBody,
  notModifiedMetadata,
  redactUrl,
  resumeOffset,
  unchangedSince,
  type LeasedTransfer,
} from '@dl/core';
import { replyCode } from './ftp-errors.js';
import type { FtpSessionInternals } from './ftp-session.js';
import type { FtpTarget } from './ftp-target.js';

/** Reply codes meaning "this command is not implemented" (SIZE, MDTM are extensions). */
const UNSUPPORTED = new Set([500, 501, 502, 504]);

/** The size most servers put in their `150` reply: `150 Opening BINARY mode data connection for f (16384 bytes).` */
const ANNOUNCED_SIZE = /\((\d+) bytes?\)/i;

/** The port of a `229 Entering Extended Passive Mode (|||port|)` reply (some servers use `!`). */
function epsvPort(message: string): number | undefined {
  const port = /[|!]{3}(\d+)[|!]/.exec(message)?.[1];
  return port === undefined ? undefined : Number(port);
}

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

/** basic-ftp's own whitespace rule: a path starting with a space is made absolute. */
async function commandPath(client: Client, path: string): Promise<string> {
  if (!path.startsWith(' ')) return path;
  const pwd = await client.pwd();
  return `${pwd.endsWith('/') ? pwd : `${pwd}/`}${path}`;
}

/**
 * Runs one download on a leased client: `SIZE` and `MDTM` when they are
 * needed (below), then `EPSV`/`PASV` and `RETR` (after `REST` when resuming).
 * The body is fed by the data socket; it is handed out once the first byte
 * arrived, so a failure before any data rejects `open` instead of ending a
 * body, and it ends only after the server confirmed the transfer (226).
 * While nobody reads the body the data socket is paused. Aborting, or a
 * reader that stops early, closes the client, data connection included
 * (the leased transfer drops it from the pool).
 *
 * A first attempt that already knows the size to expect skips `SIZE`: the
 * size comes from the `150` reply when the server says it there, and a body
 * that ends short of it is told apart from a short file by asking `SIZE`
 * then. `MDTM` is asked when the options want it, or by default when no
 * digest guards the bytes (then it is what detects a file replaced between
 * an attempt and its resumption). With `ifChanged` both are asked, and a
 * file whose size and modification time equal the stored ones is answered
 * "not modified" without a data connection.
 */
export function runFtpTransfer(
  session: FtpSessionInternals,
  transfer: LeasedTransfer<Client, FtpTarget>,
): void {
  const { request, target } = transfer;
  const { signal, url } = request;
  const client = transfer.connection;
  const ftp = client.ftp;
  const download = request.download;
  const fresh = request.offset === 0 && request.resumeFrom === undefined;
  const expectedSize = download.size;
  // Conditional (`ifChanged`): SIZE and MDTM both, compared with the stored ones before any RETR.
  const since = request.ifChanged;
  const askSize =
    since !== undefined || !(fresh && request.end === undefined && expectedSize !== undefined);
  const digestGuarded =
    download.range === undefined &&
    download.digests !== undefined &&
    Object.values(download.digests).some((digest) => digest !== undefined);
  const askTime =
    since !== undefined ||
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
      transfer.fail(error, replyCode(error) !== undefined);
      return;
    }
    if (transfer.settled) return;
    if (unchangedSince(since, size, lastModified)) {
      transfer.settle(true);
      transfer.open(notModifiedMetadata(redactUrl(url), size!, lastModified!), noBody());
      return;
    }

    const offset = resumeOffset(request, size, lastModified, session.log, 'ftp');
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
    const out = transfer.body(64 * 1024, () => {
      if (paused) {
        paused = false;
        data?.resume();
      }
    });

    const open = () => {
      if (transfer.opened) return;
      transfer.open({
        url: redactUrl(url),
        offset,
        headers: {},
        ...(size === undefined ? {} : { size }),
        ...(remaining === Infinity ? {} : { length: remaining }),
        ...(lastModified === undefined ? {} : { lastModified }),
      });
    };
    const onData = (chunk: Buffer) => {
      open();
      if (cut) return;
      received += chunk.byteLength;
      if (chunk.byteLength >= remaining && request.end !== undefined) {
        cut = true;
        out.push(chunk.subarray(0, remaining));
        out.push(null);
        transfer.settle(false);
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

    // Once a plain connection is known to take EPSV, one task carries EPSV, the data connection
    // and RETR: no promise, timer or stack trace of basic-ftp's own per command. RETR waits for
    // the data connection, as basic-ftp's does: some servers refuse it while none is made.
    // Otherwise (the connection's first transfer, PASV, FTPS) basic-ftp finds the mode and
    // opens the data connection.
    const combined =
      client.prepareTransfer === enterPassiveModeIPv6 && !(ftp.socket instanceof TLSSocket);
    const handler = (response: FTPResponse | Error, resolver: TaskResolver) => {
      if (response instanceof Error) {
        ftp.dataSocket = undefined;
        resolver.reject(response);
      } else if (response.code === 229 && combined && ftp.dataSocket === undefined) {
        // The combined task's passive reply: connect, then ask for the file.
        const port = epsvPort(response.message);
        const host = ftp.socket.remoteAddress;
        if (port === undefined || host === undefined) {
          ftp.closeWithError(new Error(`Cannot use the reply to EPSV: ${response.message}`));
          return;
        }
        const socket = new Socket();
        // From here the context's own handlers report the data connection's errors to this task.
        ftp.dataSocket = socket;
        socket.connect({ port, host, family: ftp.ipFamily }, () =>
          ftp.send(offset > 0 ? `REST ${offset}` : `RETR ${path}`),
        );
      } else if (response.code === 150 || response.code === 125) {
        const socket = ftp.dataSocket;
        if (socket === undefined) {
          resolver.reject(new Error('Download should begin but no data connection is open'));
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
    };

    const started = combined
      ? (withoutStacks(() => ftp.handle('EPSV', handler)) as Promise<FTPResponse>)
      : (async () => {
          await withoutStacks(() => client.prepareTransfer(ftp));
          if (transfer.settled) throw new Error('Client is closed');
          const command = offset > 0 ? `REST ${offset}` : `RETR ${path}`;
          return withoutStacks(() => ftp.handle(command, handler)) as Promise<FTPResponse>;
        })();

    started.then(
      async () => {
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
            if (transfer.settled) return;
            if (size !== undefined) {
              last = size;
              remaining = Math.max(0, size - offset - received);
            }
          }
        }
        transfer.settle(true);
        if (!cut && remaining > 0 && remaining !== Infinity) {
          const announced = last! - offset;
          transfer.fail(
            new DownloadError(
              `FTP data connection ended after ${announced - remaining} of ${announced} bytes`,
              { code: ErrorCodes.ProtocolError, retryable: true, url },
            ),
            true,
          );
          return;
        }
        open();
        if (!cut) out.push(null);
      },
      (error: unknown) => {
        if (cut) return;
        // A refused RETR (4xx/5xx reply) leaves the control connection usable.
        transfer.fail(error, replyCode(error) !== undefined && !signal.aborted);
      },
    );
  })();
}
