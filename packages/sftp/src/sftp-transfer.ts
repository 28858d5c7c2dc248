import { Readable } from 'node:stream';
import {
  type Lease,
  abortError,
  redactUrl,
  type OpenRequest,
  type RemoteMetadata,
  type RemoteResource,
} from '@dl/core';
import type { SftpRequestError, SftpStats } from './sftp-channel.js';
import { toSftpError } from './sftp-errors.js';
import type { SftpConnection, SftpSessionInternals } from './sftp-session.js';
import type { SftpTarget } from './sftp-target.js';

/** Bytes every SFTP server returns in one read (ssh2 splits larger reads for servers other than OpenSSH). */
const ONE_READ = 30 * 1024;

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
 * Runs one download on a leased SSH connection. `STAT` (size, modification
 * time) and `OPEN` go out together, then `READ`s from the offset feed the
 * body, a Readable returned once the remote file is open so that a failure
 * before any data rejects `open`. At the end the handle's `CLOSE` is queued
 * and the connection goes back to the pool at once: SFTP carries many
 * requests at a time, so the next transfer need not wait for its reply.
 * Aborting, or a reader that stops early, closes the connection, so nothing
 * of a cancelled transfer stays open.
 */
export function transfer(
  session: SftpSessionInternals,
  lease: Lease<SftpConnection>,
  target: SftpTarget,
  request: OpenRequest,
): Promise<RemoteResource> {
  const { signal, url } = request;
  const connection = lease.connection;
  const channel = connection.channel;
  const fail = (error: unknown) =>
    signal.aborted
      ? abortError(signal.reason, url)
      : toSftpError(error, url, [
          ...session.secrets,
          ...(target.password === undefined ? [] : [target.password]),
        ]);

  let settled = false;
  let body: Readable | undefined;
  let rejectOpen: ((error: unknown) => void) | undefined;
  const settle = (keep: boolean) => {
    if (settled) return;
    settled = true;
    signal.removeEventListener('abort', onAbort);
    connection.ssh.removeListener('close', onConnectionClose);
    if (keep && !connection.broken) lease.release();
    else lease.discard();
  };
  const onConnectionClose = () => {
    const error = fail(new Error('SSH connection lost'));
    settle(false);
    body?.destroy(error);
    rejectOpen?.(error);
  };
  const onAbort = () => {
    // SFTP cannot cancel a request in flight: closing the connection ends everything of this transfer.
    const error = abortError(signal.reason, url);
    settle(false);
    body?.destroy(error);
    rejectOpen?.(error);
  };

  return new Promise<RemoteResource>((resolve, reject) => {
    rejectOpen = reject;
    if (channel === undefined) {
      settle(false);
      reject(fail(new Error('Not connected')));
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    connection.ssh.on('close', onConnectionClose);

    const sftp = channel;
    let stats: SftpStats | undefined;
    let handle: Buffer | undefined;
    let failure: unknown;
    let answers = 0;
    /** Queues the handle's CLOSE and frees the connection without waiting for the reply. */
    const release = () => {
      if (handle !== undefined) sftp.close(handle, () => {});
      handle = undefined;
      settle(true);
    };
    const answered = (error: SftpRequestError | undefined) => {
      if (error !== undefined) failure ??= error;
      // Once settled (aborted, or the connection closed) the connection is dropped, handle and all.
      if (++answers < 2 || settled) return;
      if (failure === undefined && stats !== undefined && !stats.isFile()) {
        failure = Object.assign(new Error('No such file'), { code: 2 });
      }
      if (failure !== undefined) {
        release();
        reject(fail(failure));
        return;
      }
      start(stats!, handle!);
    };
    // One tick, one write: both requests reach the server together.
    sftp.stat(target.path, (error, result) => {
      stats = result;
      answered(error);
    });
    sftp.open(target.path, 'r', (error, result) => {
      handle = result;
      answered(error);
    });

    function start(stats: SftpStats, opened: Buffer) {
      const size = stats.size;
      const lastModified = new Date(stats.mtime * 1000).toUTCString();
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
        release();
        resolve({ metadata, body: (async function* empty() {})() });
        return;
      }

      let position = offset;
      let reading = false;
      let finished = false;
      const chunkSize = session.chunkSize;
      const readNext = () => {
        if (reading || finished || settled) return;
        reading = true;
        const left = end - position + 1;
        const length = Math.min(chunkSize, left);
        sftp.read(opened, Buffer.allocUnsafe(length), 0, length, position, onRead);
        // A read of a regular file returns all the bytes asked for (up to the end of the file), and
        // requests on one handle are answered in order: when this read is the last one, its CLOSE
        // can go out with it. Only below any server's largest read, which ssh2 would split in two.
        if (length === left && length <= ONE_READ) {
          handle = undefined;
          sftp.close(opened, () => {});
        }
      };
      const onRead = (error: SftpRequestError | undefined, bytesRead: number, data: Buffer) => {
        reading = false;
        if (settled) return;
        if (error !== undefined) {
          // The body fails; closing it drops the connection, handle included.
          out.destroy(fail(error));
          return;
        }
        position += bytesRead;
        // End of file before the size stat gave (the file shrank): the core reports the short body.
        const done = bytesRead === 0 || position > end;
        if (bytesRead > 0) out.push(data);
        if (done) {
          finished = true;
          release();
          out.push(null);
        }
      };
      const out = new Readable({ highWaterMark: chunkSize, read: readNext });
      // Failures reach a reader through its iterator or pipe; a body nobody reads must not crash the process.
      out.on('error', () => {});
      out.on('close', () => {
        // The reader stopped early: end the transfer and its connection.
        if (!finished) settle(false);
      });
      body = out;
      rejectOpen = undefined;
      resolve({ metadata, body: out });
    }
  });
}
