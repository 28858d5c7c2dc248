import { Writable } from 'node:stream';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { OrderedOutput } from './ordered-output.js';

function recorder(name: string, log: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      log.push(`${name}:${chunk.toString()}`);
      done();
    },
  });
}

describe('OrderedOutput', () => {
  it('writes a stream’s lines together, in order across streams, by the next turn', async () => {
    const log: string[] = [];
    const out = recorder('out', log);
    const err = recorder('err', log);
    const print = new OrderedOutput();
    print.write(out, 'a\n');
    print.write(out, 'b\n');
    print.write(err, 'bad\n');
    print.write(out, 'c\n');
    expect(log).toEqual(['out:a\nb\n', 'err:bad\n']);
    await turn();
    expect(log).toEqual(['out:a\nb\n', 'err:bad\n', 'out:c\n']);
    print.write(err, 'd\n');
    print.flush();
    print.flush();
    expect(log.at(-1)).toBe('err:d\n');
    expect(log).toHaveLength(4);
  });

  it('writes at once past 64 KiB', () => {
    const log: string[] = [];
    const out = recorder('out', log);
    const print = new OrderedOutput();
    print.write(out, 'x'.repeat(64 * 1024));
    expect(log).toHaveLength(1);
  });
});
