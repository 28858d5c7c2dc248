import type { Logger } from '../contracts/logger.js';
import type { OpenRequest } from '../contracts/open-request.js';
import { redactUrl } from '../util/redact.js';

/**
 * Where a transfer starts: the request's offset, or 0 when the remote file
 * is not the one whose first bytes are already kept (it shrank below the
 * offset, or its size or modification time differ from those the earlier
 * attempt reported). Appending to bytes of another file would be corrupt;
 * starting again at 0 is what the core expects then (`metadata.offset` 0).
 */
export function resumeOffset(
  request: OpenRequest,
  size: number | undefined,
  lastModified: string | undefined,
  log: Logger,
  adapter: string,
): number {
  const offset = request.offset;
  if (offset === 0) return 0;
  const previous = request.resumeFrom;
  const changed =
    (size !== undefined && offset > size) ||
    (previous !== undefined &&
      ((previous.size !== undefined && size !== undefined && previous.size !== size) ||
        (previous.lastModified !== undefined &&
          lastModified !== undefined &&
          previous.lastModified !== lastModified)));
  if (!changed) return offset;
  log.debug(`${adapter}: the file changed or shrank; restarting from byte 0`, {
    url: redactUrl(request.url),
  });
  return 0;
}
