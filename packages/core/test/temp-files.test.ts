import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  HOST_TAG,
  isStaleTemp,
  parseTempName,
  removeStaleTemps,
  TEMP_SUFFIX,
} from '../src/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dl-temps-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('temp file names', () => {
  it('say which destination, machine and process a temp belongs to', async () => {
    const store = createMemoryStore();
    // Big enough to be flushed to its temp file before the end.
    store.put('mem://h.test/a', Buffer.alloc(600 * 1024, 1));
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 64 * 1024 })],
    });
    let seen: string[] = [];
    const destination = join(dir, 'a.b.rpm');
    await factory.download({
      url: 'mem://h.test/a',
      destination,
      validators: [
        () => ({
          name: 'peek',
          update() {},
          reset() {},
          finish() {
            seen = readdirSync(dir);
          },
        }),
      ],
    });
    expect(seen).toHaveLength(1);
    expect(parseTempName(seen[0]!)).toEqual({ name: 'a.b.rpm', host: HOST_TAG, pid: process.pid });
    expect(await readdir(dir)).toEqual(['a.b.rpm']);
    expect(HOST_TAG).toMatch(/^[0-9a-f]{8}$/);
    expect(parseTempName('.x.dl-part')).toBeUndefined();
    expect(parseTempName('.x.1a2b3c4d-0.abc.dl-part')).toBeUndefined();
    expect(parseTempName('x')).toBeUndefined();
  });

  it('removes only the temps whose writer on this machine is gone, or that the caller says are dead', async () => {
    const dead = deadPid();
    const foreign = HOST_TAG === '0badc0de' ? '0badc0df' : '0badc0de';
    const names = {
      deadHere: `.f.${HOST_TAG}-${dead}.a1${TEMP_SUFFIX}`,
      deadOther: `.g.${HOST_TAG}-${dead}.a2${TEMP_SUFFIX}`,
      liveHere: `.f.${HOST_TAG}-${process.pid}.a3${TEMP_SUFFIX}`,
      liveParent: `.f.${HOST_TAG}-${process.ppid}.a4${TEMP_SUFFIX}`,
      foreign: `.f.${foreign}-${dead}.a5${TEMP_SUFFIX}`,
      oldStyle: `.f.1a2b3c0${TEMP_SUFFIX}`,
      notOurs: 'f',
    };
    for (const name of Object.values(names)) await writeFile(join(dir, name), 'x');
    expect(isStaleTemp(names.deadHere)).toBe(true);
    expect(isStaleTemp(names.liveHere)).toBe(false);
    expect(isStaleTemp(names.liveHere, { isOwnerDead: () => true })).toBe(false);
    expect(isStaleTemp(names.foreign)).toBe(false);
    expect(isStaleTemp(names.oldStyle, { isOwnerDead: () => true })).toBe(false);

    expect(await removeStaleTemps(dir, { name: 'f' })).toEqual([join(dir, names.deadHere)]);
    expect(await removeStaleTemps(dir)).toEqual([join(dir, names.deadOther)]);
    const isOwnerDead = (owner: { host: string; pid: number }) =>
      owner.host === foreign && owner.pid === dead;
    expect(await removeStaleTemps(dir, { isOwnerDead })).toEqual([join(dir, names.foreign)]);
    expect((await readdir(dir)).sort()).toEqual(
      [names.liveHere, names.liveParent, names.oldStyle, names.notOurs].sort(),
    );
    expect(await removeStaleTemps(join(dir, 'missing'))).toEqual([]);
  });
});
