/**
 * The bytes a generated host serves for `path`: `size` pseudo-random bytes
 * seeded by the path, so every path has its own content and tests can compute
 * the expected digest without the store keeping anything.
 *
 * @param path - The URL path (with its leading `/`), e.g. `/a/b.bin`.
 * @param size - How many bytes to produce.
 */
export function generatedContent(path: string, size: number): Uint8Array {
  // FNV-1a of the path seeds a xorshift32 stream: cheap and deterministic.
  let seed = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) {
    seed ^= path.charCodeAt(i);
    seed = Math.imul(seed, 0x01000193);
  }
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
