import type { OpenedDownload } from '../contracts/downloader.js';

/**
 * Aborts an opened download and makes sure it settles. Pulling the body once
 * releases a chunk the download may be holding for a reader that will never
 * come (see .notes/streamer-contract-requests.md, item 1); without it the
 * download's promise, and the factory's `close()`, would wait forever.
 */
export function releaseOpened(
  opened: OpenedDownload<unknown>,
  iterator: AsyncIterator<Uint8Array> = opened.body[Symbol.asyncIterator](),
): void {
  opened.abort();
  void iterator
    .next()
    .then(
      () => iterator.return?.(),
      () => undefined,
    )
    .catch(() => undefined);
}
