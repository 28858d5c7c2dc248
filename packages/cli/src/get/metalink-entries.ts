import { redactUrl, type DownloaderFactory } from '@dl/core';
import type { MetalinkFile } from '@dl/mirrorlist';
import type { ManifestEntry } from '../manifest/manifest-entry.js';
import { METALINK_SET } from '../transfer/mirror-setup.js';

const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

/**
 * Fetches the metalink at `source` through the factory (bounded in size),
 * parses it, and returns one entry per file it describes: a
 * `mirror://metalink/NAME` URL (so every URL of the file is a failover
 * source), the name as the path, the size and every hash. `provide` hands the
 * text to the mirror set, which would otherwise fetch the metalink again.
 */
export async function metalinkEntries(
  source: URL,
  factory: DownloaderFactory,
  signal: AbortSignal,
  provide?: (text: string) => void,
): Promise<ManifestEntry[]> {
  const opened = await factory.open({ url: source }, { signal });
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of opened.body) {
    bytes += chunk.byteLength;
    if (bytes > MAX_DOCUMENT_BYTES) {
      opened.abort();
      throw new Error(
        `the metalink ${redactUrl(source)} is larger than ${MAX_DOCUMENT_BYTES} bytes`,
      );
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const { parseMetalink } = await import('@dl/mirrorlist');
  const metalink = parseMetalink(text, { source: redactUrl(source), documentUrl: source });
  provide?.(text);
  return metalink.files.map((file) => entryOf(file));
}

function entryOf(file: MetalinkFile): ManifestEntry {
  const encoded = file.name.split('/').map(encodeURIComponent).join('/');
  return {
    url: new URL(`mirror://${METALINK_SET}/${encoded}`),
    path: file.name,
    ...(file.size === undefined ? {} : { size: file.size }),
    ...(Object.keys(file.digests).length === 0 ? {} : { digests: file.digests }),
  };
}
