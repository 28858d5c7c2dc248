import { describe, expect, it } from 'vitest';
import { splitLines, type NumberedLine } from './line-splitter.js';

async function collect(chunks: (string | Uint8Array)[], max?: number): Promise<NumberedLine[]> {
  const out: NumberedLine[] = [];
  async function* source() {
    yield* chunks;
  }
  for await (const line of splitLines(source(), max)) out.push(line);
  return out;
}

describe('splitLines', () => {
  it('splits LF and CRLF lines across chunk borders, with or without a final newline', async () => {
    const lines = await collect(['a\r', '\nbb', 'b\n\nlast']);
    expect(lines).toEqual([
      { number: 1, offset: 0, text: 'a' },
      { number: 2, offset: 3, text: 'bbb' },
      { number: 3, offset: 7, text: '' },
      { number: 4, offset: 8, text: 'last' },
    ]);
    expect(await collect(['x\n'])).toEqual([{ number: 1, offset: 0, text: 'x' }]);
    expect(await collect([])).toEqual([]);
  });

  it('keeps a multi-byte character split between chunks whole', async () => {
    const bytes = Buffer.from('é→\n');
    const lines = await collect([bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3)]);
    expect(lines).toEqual([{ number: 1, offset: 0, text: 'é→' }]);
  });

  it('reports a line longer than the limit without holding it, and goes on counting', async () => {
    const long = 'x'.repeat(40);
    const lines = await collect(['ok\n', long.slice(0, 25), long.slice(25), '\nafter\n', long], 32);
    expect(lines).toEqual([
      { number: 1, offset: 0, text: 'ok' },
      { number: 2, offset: 3, tooLong: true },
      { number: 3, offset: 44, text: 'after' },
      { number: 4, offset: 50, tooLong: true },
    ]);
  });
});
