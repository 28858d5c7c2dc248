import { connect } from 'node:net';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRedis } from './index.js';

/** Sends one inline command and returns the raw reply. */
async function command(port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`${text}\r\n`);
  const [reply] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return reply.toString('utf8');
}

describe('startRedis', () => {
  it('starts on loopback, keeps its data across a restart on the same port and folder, and cleans up', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dl-redis-test-'));
    const first = await startRedis({ dir });
    expect(first.url).toBe(`redis://127.0.0.1:${first.port}/0`);
    expect(await command(first.port, 'SET dl-key 42')).toBe('+OK\r\n');
    // The append-only file is fsynced once a second.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const { port } = first;
    // A stop of a server started on a caller's folder keeps the folder.
    await first.stop();
    expect(existsSync(join(dir, 'appendonlydir'))).toBe(true);
    const again = await startRedis({ dir, port });
    expect(again.port).toBe(port);
    expect(await command(port, 'GET dl-key')).toBe('$2\r\n42\r\n');
    await again.stop();
    expect(existsSync(dir)).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });

  it('removes a folder it made itself', async () => {
    const redis = await startRedis({ appendOnly: false });
    const dir = redis.dir;
    expect(existsSync(dir)).toBe(true);
    await redis.stop();
    expect(existsSync(dir)).toBe(false);
  });
});
