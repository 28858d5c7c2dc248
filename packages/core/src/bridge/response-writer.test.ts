import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ResponseWriter } from './response-writer.js';

/** A client that takes nothing until `release()` is called. */
function stalledClient() {
  const pending: (() => void)[] = [];
  let taken = 0;
  const stream = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      pending.push(() => {
        taken += chunk.byteLength;
        callback();
      });
    },
  });
  return {
    stream,
    taken: () => taken,
    release() {
      for (const next of pending.splice(0)) next();
    },
  };
}

describe('ResponseWriter', () => {
  it('writes on without waiting until about 1 MiB is queued, then waits for drain', async () => {
    const client = stalledClient();
    const writer = new ResponseWriter(client.stream);
    const chunk = Buffer.alloc(64 * 1024);
    let sync = 0;
    let written: boolean | Promise<boolean> = true;
    while (written === true) {
      written = writer.write(chunk);
      if (written === true) sync++;
    }
    // Far past the stream's own 16 KiB, but bounded: a slow client stops the copy.
    expect(sync).toBeGreaterThanOrEqual(15);
    expect(sync).toBeLessThanOrEqual(16);
    expect(written).toBeInstanceOf(Promise);
    const waiting = written as Promise<boolean>;
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    // Draining takes rounds: each released write lets the stream hand over the next.
    while (!settled) {
      client.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await waiting).toBe(true);
    expect(client.taken()).toBe((sync + 1) * chunk.byteLength);
    writer.close();
  });

  it('answers false once the client is gone, also to a write waiting for drain', async () => {
    const client = stalledClient();
    const writer = new ResponseWriter(client.stream);
    const chunk = Buffer.alloc(256 * 1024);
    let written: boolean | Promise<boolean> = true;
    while (written === true) written = writer.write(chunk);
    client.stream.destroy();
    expect(await written).toBe(false);
    expect(writer.gone).toBe(true);
    expect(writer.write(chunk)).toBe(false);
  });
});
