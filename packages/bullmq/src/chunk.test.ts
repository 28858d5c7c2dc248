import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DownloadError, HOST_TAG } from '@dl/core';
import { decodeChunk, encodeChunk, toChunkRequest } from './chunk.js';
import { verifiedFile } from './skip-check.js';
import { ownerKey, removeDeadWorkerTemps } from './stale-temps.js';

describe('chunks', () => {
  it('round-trip requests and JSON contexts', () => {
    const requests = [
      {
        url: 'https://a.example/x',
        destination: '/o/x',
        size: 3,
        digests: { sha256: 'ab' },
        context: { a: [1, null, 'z'] },
      },
      { url: 'ftp://b.example/y' },
      { url: new URL('https://c.example/z'), context: 0 },
    ].map((r, i) => toChunkRequest(r, i));
    expect(decodeChunk(encodeChunk(requests))).toEqual(requests);
    expect(requests[2]!.url).toBe('https://c.example/z');
  });

  it('refuse a context that is not JSON, naming the request', () => {
    for (const context of [
      new Date(0),
      { f: () => 1 },
      1n,
      { n: NaN },
      new Map(),
      { u: undefined },
    ]) {
      let error: unknown;
      try {
        toChunkRequest({ url: 'https://a.example/x', context }, 7);
      } catch (e) {
        error = e;
      }
      expect(DownloadError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({
        code: 'invalid-request',
        details: { field: 'context', index: 7 },
      });
      expect((error as Error).message).toContain('#7 (https://a.example/x)');
    }
    expect(() =>
      toChunkRequest({ url: 'https://a.example/x', headers: { authorization: 'x' } }, 0),
    ).toThrow(/headers/);
  });
});

describe('the skip check and stale temps', () => {
  it('skips only a file proven by its digests', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dl-skip-'));
    try {
      const path = join(dir, 'f');
      await writeFile(path, 'abc');
      const sha256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
      expect(await verifiedFile(path, { size: 3, digests: { sha256 } })).toEqual({
        size: 3,
        digests: { sha256 },
      });
      expect(await verifiedFile(path, { size: 3 })).toBeUndefined();
      expect(await verifiedFile(path, { size: 4, digests: { sha256 } })).toBeUndefined();
      expect(await verifiedFile(join(dir, 'none'), { digests: { sha256 } })).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('removes the temps of dead owners only: dead here by pid, or dead in the fleet by heartbeat', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dl-stale-'));
    try {
      const destination = join(dir, 'a.tar.gz');
      const gone = spawnSync(process.execPath, ['-e', '0']).pid;
      const names = {
        deadHere: `.a.tar.gz.${HOST_TAG}-${gone}.x9.dl-part`,
        deadThere: '.a.tar.gz.0badf00d-12.x9.dl-part',
        aliveThere: '.a.tar.gz.0badf00d-13.x9.dl-part',
        mine: `.a.tar.gz.${HOST_TAG}-${process.pid}.x9.dl-part`,
        otherFile: '.b.0badf00d-12.x9.dl-part',
      };
      for (const name of Object.values(names)) await writeFile(join(dir, name), 'x');
      const asked: string[] = [];
      const removed = await removeDeadWorkerTemps([destination], async (owners) => {
        asked.push(...owners.map(ownerKey));
        return new Set(['0badf00d-12']);
      });
      expect(removed.sort()).toEqual(
        [join(dir, names.deadHere), join(dir, names.deadThere)].sort(),
      );
      expect(asked).toContain('0badf00d-13');
      expect((await readdir(dir)).sort()).toEqual(
        [names.aliveThere, names.mine, names.otherFile].sort(),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
