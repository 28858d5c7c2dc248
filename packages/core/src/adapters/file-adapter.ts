import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { OpenRequest } from '../contracts/open-request.js';
import type { ProtocolAdapter } from '../contracts/protocol-adapter.js';
import type { RemoteResource } from '../contracts/remote-resource.js';
import type { AdapterSession } from '../contracts/session.js';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { redactUrl } from '../util/redact.js';

/** Options of the `file:` adapter. */
export interface FileAdapterOptions {
  /** Read buffer size in bytes. @default 262144 */
  readonly highWaterMark?: number;
}

/**
 * The `file:` adapter: local files (with resume from an offset). A file that
 * changed since the attempt being resumed (size or mtime) is read again from
 * byte 0. Folders are not files: opening one is a `remote-rejected` error.
 */
export function fileAdapter(options: FileAdapterOptions = {}): ProtocolAdapter<AdapterSession> {
  const highWaterMark = options.highWaterMark ?? 256 * 1024;
  return {
    name: 'file',
    schemes: ['file'],
    capabilities: { resume: true, transfersPerConnection: 1, metadataBeforeBody: true },
    createSession: () => ({ close() {} }),
    open: (_session, request) => openFile(request, highWaterMark),
    toJSON: () => ({ ...options }),
  };
}

async function openFile(request: OpenRequest, highWaterMark: number): Promise<RemoteResource> {
  const shown = redactUrl(request.url);
  let path: string;
  try {
    path = fileURLToPath(request.url);
  } catch (error) {
    throw new DownloadError(`Not a local file URL: ${shown}`, {
      code: ErrorCodes.InvalidRequest,
      cause: error,
      url: shown,
    });
  }
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const stat = await handle.stat();
    if (stat.isDirectory()) {
      throw new DownloadError(`${shown} is a folder, not a file`, {
        code: ErrorCodes.RemoteRejected,
        url: shown,
      });
    }
    const etag = `"${stat.ino.toString(16)}-${stat.size.toString(16)}-${Math.trunc(stat.mtimeMs).toString(16)}"`;
    const unchanged = request.resumeFrom === undefined || request.resumeFrom.etag === etag;
    const offset = unchanged && request.offset <= stat.size ? request.offset : 0;
    const end = request.end === undefined ? stat.size - 1 : Math.min(request.end, stat.size - 1);
    const length = Math.max(0, end - offset + 1);
    request.signal.throwIfAborted();
    if (length === 0) await handle.close();
    const body =
      length === 0
        ? Readable.from([])
        : handle.createReadStream({ start: offset, end, highWaterMark, autoClose: true });
    handle = undefined;
    return {
      metadata: {
        url: shown,
        size: stat.size,
        offset,
        length,
        etag,
        lastModified: stat.mtime.toUTCString(),
        headers: {},
      },
      body,
    };
  } catch (error) {
    await handle?.close().catch(() => {});
    throw classify(error, shown);
  }
}

function classify(error: unknown, url: string): unknown {
  if (DownloadError.isInstance(error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new DownloadError(`No such file: ${url}`, {
      code: ErrorCodes.NotFound,
      url,
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new DownloadError(`Permission denied: ${url}`, {
      code: ErrorCodes.AuthFailed,
      url,
      cause: error,
    });
  }
  if (code === 'EISDIR') {
    return new DownloadError(`${url} is a folder, not a file`, {
      code: ErrorCodes.RemoteRejected,
      url,
      cause: error,
    });
  }
  return error;
}
