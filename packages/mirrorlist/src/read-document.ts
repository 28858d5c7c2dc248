import type { Readable } from 'node:stream';
import { MirrorListError } from './mirrorlist-error.js';

/**
 * Reads a whole (small) body as UTF-8 text, refusing more than `maxBytes`:
 * the read stops and the body is released as soon as it overruns.
 */
export async function readDocument(
  body: AsyncIterable<Uint8Array> | Readable,
  maxBytes: number,
  source: string,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      // Leaving the loop calls the iterator's return(), which frees the connection.
      throw new MirrorListError(`The document is larger than ${maxBytes} bytes`, {
        problem: 'too-large',
        source,
      });
    }
    chunks.push(chunk);
  }
  return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
}
