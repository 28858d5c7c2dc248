import type { Readable } from 'node:stream';
import { splitLines, MAX_LINE_BYTES } from './line-splitter.js';
import { parseManifestLine, type ManifestEntry } from './manifest-entry.js';

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
  const { signal } = options;
  const onAbort = () => input.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const line of splitLines(input, options.maxLineBytes ?? MAX_LINE_BYTES)) {
      if (line.tooLong) {
        yield {
          line: line.number,
          reason: `longer than ${options.maxLineBytes ?? MAX_LINE_BYTES} bytes`,
        };
        continue;
      }
      const parsed = parseManifestLine(line.text, options.supports, options.base);
      if (parsed.kind === 'blank') continue;
      if (parsed.kind === 'entry') yield { line: line.number, entry: parsed.entry };
      else {
        yield {
          line: line.number,
          reason: parsed.reason,
          ...(parsed.url === undefined ? {} : { url: parsed.url }),
          ...(parsed.path === undefined ? {} : { path: parsed.path }),
        };
      }
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    input.destroy();
  }
}
