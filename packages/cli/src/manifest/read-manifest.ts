import type { Readable } from 'node:stream';
import { LineSplitter, MAX_LINE_BYTES } from './line-splitter.js';
import { readManifestLine, type BadLine, type ManifestEntry } from './manifest-entry.js';

/** A manifest line that asks for a download, or a bad one with its reason. */
export type ManifestLine =
  | { readonly line: number; readonly entry: ManifestEntry; readonly reason?: undefined }
  | {
      readonly line: number;
      readonly reason: string;
      readonly url?: string;
      readonly path?: string;
    };

/** Options of {@link readManifest}. */
export interface ReadManifestOptions {
  /** Which URLs can be downloaded (the factory's `supports`); others are bad lines. */
  readonly supports: (url: URL) => boolean;
  /** Stops reading: the input is destroyed and the iteration ends quietly. */
  readonly signal?: AbortSignal;
  /** Relative URLs resolve against it (a mirror set's `mirror://name/`); without it they are bad lines. */
  readonly base?: URL;
  /** Longest line accepted, in bytes. @default 1 MiB */
  readonly maxLineBytes?: number;
}

/**
 * Reads a manifest (JSON Lines or bare URL lines) as a stream and yields
 * its lines one by one, numbered from 1; blank lines and `#` comments are
 * passed over. Only one line is held at a time. The input is destroyed when
 * the iteration ends, whichever way.
 */
export async function* readManifest(
  input: Readable,
  options: ReadManifestOptions,
): AsyncGenerator<ManifestLine> {
  const { signal, supports, base } = options;
  const maxBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
  const onAbort = () => input.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  // Lines are split and parsed synchronously within each chunk: one generator step per line.
  const lines = new LineSplitter(maxBytes);
  const item = (): ManifestLine | undefined => {
    const { text } = lines;
    if (text === undefined) return { line: lines.number, reason: `longer than ${maxBytes} bytes` };
    const read = readManifestLine(text, supports, base);
    if (read === undefined) return undefined;
    if ((read as Partial<BadLine>).kind !== 'bad') {
      return { line: lines.number, entry: read as ManifestEntry };
    }
    const { reason, url, path } = read as BadLine;
    const bad: { line: number; reason: string; url?: string; path?: string } = {
      line: lines.number,
      reason,
    };
    if (url !== undefined) bad.url = url;
    if (path !== undefined) bad.path = path;
    return bad;
  };
  try {
    for await (const chunk of input) {
      lines.feed(chunk as Uint8Array | string);
      while (lines.next()) {
        const next = item();
        if (next !== undefined) yield next;
      }
    }
    if (lines.end()) {
      const next = item();
      if (next !== undefined) yield next;
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    input.destroy();
  }
}
