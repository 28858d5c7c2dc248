import { mkdtemp, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DownloadError } from '@dl/core';
import { decodeChunk, encodeChunk, toChunkRequest } from './chunk.js';
import { verifiedFile } from './skip-check.js';
import { parseTempOwner, removeStaleTemps } from './stale-temps.js';

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

  it('removes the temps of dead owners only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dl-stale-'));
    try {
      const destination = join(dir, 'a.tar.gz');
      expect(parseTempOwner('.a.tar.gz.box-12.x9.dl-part', destination)).toEqual({
        host: 'box',
        pid: 12,
      });
      expect(parseTempOwner('.a.tar.gz.k3f00aa1.dl-part', destination)).toBe('unknown');
      expect(parseTempOwner('.b.k3f00aa1.dl-part', destination)).toBeUndefined();
      const names = [
        '.a.tar.gz.box-12.x9.dl-part',
        '.a.tar.gz.box-13.x9.dl-part',
        '.a.tar.gz.2s00aa10.dl-part',
        '.a.tar.gz.zz00aa10.dl-part',
      ];
      for (const name of names) await writeFile(join(dir, name), 'x');
      const old = new Date(Date.now() - 60_000);
      await utimes(join(dir, names[2]!), old, old);
      await utimes(join(dir, names[3]!), old, old);
      const removed = await removeStaleTemps([destination], {
        isOwnerDead: async (owner) => owner.pid === 12,
        // pid 100 is "2s" in base 36: a live worker may own the third; the fourth has no live owner.
        legacy: { livePids: async () => [100], quietMs: 10_000 },
      });
      expect(removed.sort()).toEqual([join(dir, names[0]!), join(dir, names[3]!)].sort());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
