import type { EventEmitter } from 'node:events';

/** What ssh2 passes to a failed request's callback: an SFTP status code, or a connection error. */
export type SftpRequestError = Error & { readonly code?: number | string };

/** The attributes of a stat reply (ssh2's `Stats`). */
export interface SftpStats {
  readonly size: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  isFile(): boolean;
}

/**
 * The part of ssh2's SFTP channel the transfers use directly: one request
 * each, answered through a callback, many in flight at once (ssh2-sftp-client's
 * promise wrappers add listeners and promises per call).
 */
export interface SftpChannel extends EventEmitter {
  stat(path: string, cb: (error: SftpRequestError | undefined, stats: SftpStats) => void): void;
  open(
    path: string,
    flags: 'r',
    cb: (error: SftpRequestError | undefined, handle: Buffer) => void,
  ): void;
  /** `bytesRead` 0 means end of file. */
  read(
    handle: Buffer,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    cb: (error: SftpRequestError | undefined, bytesRead: number, data: Buffer) => void,
  ): void;
  close(handle: Buffer, cb: (error: SftpRequestError | undefined) => void): void;
}
