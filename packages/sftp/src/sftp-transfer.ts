import {
  noBody,
  notModifiedMetadata,
  redactUrl,
  resumeOffset,
  unchangedSince,
  type LeasedTransfer,
  type RemoteMetadata,
} from '@dl/core';
import type { SftpRequestError, SftpStats } from './sftp-channel.js';
import type { SftpConnection, SftpSessionInternals } from './sftp-session.js';
import type { SftpTarget } from './sftp-target.js';

/** Bytes every SFTP server returns in one read (ssh2 splits larger reads for servers other than OpenSSH). */
const ONE_READ = 30 * 1024;

function noop(): void {}

/** The stat's modification time as an HTTP-date (what `RemoteMetadata.lastModified` holds). */
function httpDate(stats: SftpStats): string {
  return new Date(stats.mtime * 1000).toUTCString();
}

/**
 * Runs one download on a leased SSH connection. `STAT` (size, modification
 * time) and `OPEN` go out together, then `READ`s from the offset feed the
 * body, handed out once the remote file is open so that a failure before
 * any data rejects `open`. At the end the handle's `CLOSE` is queued and the
 * connection goes back to the pool at once: SFTP carries many requests at a
 * time, so the next transfer need not wait for its reply. SFTP cannot cancel
 * a request in flight: aborting, a reader that stops early or a lost
 * connection drops the connection (the leased transfer does), handle and all.
 *
 * A small file whose size is expected and whose bytes a digest guards, read
 * whole from byte 0, needs no `STAT`: `OPEN`, then one `READ` of one byte
 * more than expected with the `CLOSE`, tell a file of the expected size from
 * a longer one (which the core then rejects), and the digest does the rest.
 * The metadata then has no size or modification time, as FTP's without
 * `SIZE` and `MDTM`. A failed read asks `STAT` after all, so that a folder
 * is still told apart (not found) from a failing file.
 */
export function runSftpTransfer(
  session: SftpSessionInternals,
  transfer: LeasedTransfer<SftpConnection, SftpTarget>,
): void {
  const { request, target } = transfer;
  const channel = transfer.connection.channel;
  if (channel === undefined) {
    transfer.fail(new Error('Not connected'), false);
    return;
  }
  const sftp = channel;
  let stats: SftpStats | undefined;
  let handle: Buffer | undefined;
  let failure: unknown;
  let answers = 0;
  /** Queues the handle's CLOSE and frees the connection without waiting for the reply. */
  const release = () => {
    if (handle !== undefined) sftp.close(handle, noop);
    handle = undefined;
    transfer.settle(true);
  };
  const answered = (error: SftpRequestError | undefined) => {
    if (error !== undefined) failure ??= error;
    // Once settled (aborted, or the connection closed) the connection is dropped, handle and all.
    if (++answers < 2 || transfer.settled) return;
    if (failure === undefined && stats !== undefined && !stats.isFile()) {
      failure = Object.assign(new Error('No such file'), { code: 2 });
    }
    if (failure !== undefined) {
      release();
      transfer.fail(failure, true);
      return;
    }
    start(stats!, handle!);
  };
  const onStat = (error: SftpRequestError | undefined, result: SftpStats | undefined) => {
    stats = result;
    answered(error);
  };
  const openFile = () =>
    sftp.open(target.path, 'r', (error, result) => {
      handle = result;
      answered(error);
    });
  const since = request.ifChanged;
  const download = request.download;
  const expected = download.size;
  const digestGuarded =
    download.range === undefined &&
    download.digests !== undefined &&
    Object.values(download.digests).some((digest) => digest !== undefined);
  if (
    since === undefined &&
    expected !== undefined &&
    expected < ONE_READ &&
    digestGuarded &&
    request.offset === 0 &&
    request.resumeFrom === undefined &&
    request.end === undefined
  ) {
    sftp.open(target.path, 'r', (error, result) => {
      if (transfer.settled) return;
      if (error !== undefined) {
        transfer.fail(error, true);
        return;
      }
      start(undefined, result);
    });
  } else if (since === undefined) {
    // One tick, one write: both requests reach the server together.
    sftp.stat(target.path, onStat);
    openFile();
  } else {
    // Conditional: STAT alone; the file is opened (and read) only when its size or mtime changed.
    sftp.stat(target.path, (error, result) => {
      if (transfer.settled) return;
      const lastModified = result === undefined ? undefined : httpDate(result);
      if (
        error === undefined &&
        result?.isFile() === true &&
        unchangedSince(since, result.size, lastModified)
      ) {
        transfer.settle(true);
        transfer.open(
          notModifiedMetadata(redactUrl(request.url), result.size, lastModified!),
          noBody(),
        );
        return;
      }
      onStat(error, result);
      openFile();
    });
  }

  /** `stats` undefined: read the expected size and one byte more, in one read (see above). */
  function start(stats: SftpStats | undefined, opened: Buffer) {
    let offset = 0;
    let end = expected!;
    let metadata: RemoteMetadata = { url: redactUrl(request.url), offset, headers: {} };
    if (stats !== undefined) {
      const size = stats.size;
      const lastModified = httpDate(stats);
      offset = resumeOffset(request, size, lastModified, session.log, 'sftp');
      end = request.end === undefined ? size - 1 : Math.min(request.end, size - 1);
      metadata = {
        url: metadata.url,
        size,
        offset,
        length: Math.max(0, end - offset + 1),
        lastModified,
        headers: {},
      };
    }
    if (metadata.length === 0) {
      release();
      transfer.open(metadata, (async function* empty() {})());
      return;
    }

    let position = offset;
    let reading = false;
    /** The read sent with the handle's CLOSE: whatever it returns is all there is. */
    let last = false;
    const chunkSize = session.chunkSize;
    const readNext = () => {
      if (reading || transfer.settled) return;
      reading = true;
      const left = end - position + 1;
      const length = Math.min(chunkSize, left);
      sftp.read(opened, Buffer.allocUnsafe(length), 0, length, position, onRead);
      // A read of a regular file returns all the bytes asked for (up to the end of the file), and
      // requests on one handle are answered in order: when this read is the last one, its CLOSE
      // can go out with it. Only below any server's largest read, which ssh2 would split in two.
      if (length === left && length <= ONE_READ) {
        last = true;
        handle = undefined;
        sftp.close(opened, noop);
      }
    };
    const onRead = (error: SftpRequestError | undefined, bytesRead: number, data: Buffer) => {
      reading = false;
      if (transfer.settled) return;
      if (error !== undefined) {
        if (stats === undefined && position === offset) {
          // Read without a stat: a folder opens, and fails only here. STAT tells it from a file.
          sftp.stat(target.path, (_statError, result) => {
            if (transfer.settled) return;
            transfer.fail(
              result?.isFile() === false
                ? Object.assign(new Error('No such file'), { code: 2 })
                : error,
              false,
            );
          });
          return;
        }
        // The body fails; the connection is dropped, handle included.
        transfer.fail(error, false);
        return;
      }
      position += bytesRead;
      // End of file before the size stat gave (the file shrank): the core reports the short body.
      const done = bytesRead === 0 || position > end || last;
      // Without a stat, the body is handed out once the read showed the path is a readable file.
      transfer.open(metadata);
      if (bytesRead > 0) out.push(data);
      if (done) {
        release();
        out.push(null);
      }
    };
    const out = transfer.body(chunkSize, readNext);
    if (stats === undefined) readNext();
    else transfer.open(metadata);
  }
}
