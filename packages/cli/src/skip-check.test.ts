import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_TAG, TEMP_SUFFIX } from '@dl/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alreadyValid, SkipCheck } from './skip-check.js';

const body = Buffer.from('hello');
const sha256 = createHash('sha256').update(body).digest('hex');
const expected = { size: body.length, digests: { sha256 } };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dl-skip-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('alreadyValid', () => {
  it('answers the size of a valid file, and nothing for a wrong, missing or unprovable one', async () => {
    const root = join(dir, 'plain');
    await mkdir(root);
    await writeFile(join(root, 'ok'), body);
    await writeFile(join(root, 'bad'), 'hellO');
    expect(await alreadyValid(join(root, 'ok'), expected)).toBe(body.length);
    expect(await alreadyValid(join(root, 'bad'), expected)).toBeUndefined();
    expect(await alreadyValid(join(root, 'none'), expected)).toBeUndefined();
    expect(await alreadyValid(join(root, 'ok'), { size: body.length })).toBeUndefined();
    // Big files are streamed rather than read whole; no size given, the digests decide.
    const big = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    await writeFile(join(root, 'big'), big);
    const bigSha = createHash('sha256').update(big).digest('hex');
    expect(await alreadyValid(join(root, 'big'), { digests: { sha256: bigSha } })).toBe(big.length);
    expect(await alreadyValid(join(root, 'big'), { digests: { sha256: sha256 } })).toBeUndefined();
    expect(
      await alreadyValid(join(root, 'ok'), { digests: { sha256: sha256.toUpperCase() } }),
    ).toBe(body.length);
    // A file where a folder should be is not a reason to throw.
    expect(await alreadyValid(join(root, 'ok', 'below'), expected)).toBeUndefined();
  });
});

describe('SkipCheck', () => {
  it('verifies files in folders that held something, and skips nothing it did not read', async () => {
    const root = join(dir, 'full');
    await mkdir(join(root, 'a'), { recursive: true });
    await writeFile(join(root, 'a', 'ok'), body);
    await writeFile(join(root, 'a', 'bad'), 'hellO');
    const check = new SkipCheck(root);
    expect(await check.check(join(root, 'a', 'ok'), expected)).toBe(body.length);
    expect(await check.check(join(root, 'a', 'bad'), expected)).toBeUndefined();
    expect(await check.check(join(root, 'a', 'none'), expected)).toBeUndefined();
    expect(await check.check(join(root, 'a', 'ok', 'x'), expected)).toBeUndefined();
    expect(check.check(join(root, 'a', 'ok'), { size: body.length })).toBeUndefined();
  });

  it('answers at once, without reading, under folders that were missing or empty when first seen', async () => {
    const root = join(dir, 'fresh');
    await mkdir(join(root, 'empty'), { recursive: true });
    await writeFile(join(root, 'top'), body);
    const check = new SkipCheck(root);
    expect(check.check(join(root, 'missing', 'deep', 'f'), expected)).toBeUndefined();
    expect(check.check(join(root, 'empty', 'f'), expected)).toBeUndefined();
    // What this run writes there later is never a destination it checks again.
    await mkdir(join(root, 'missing', 'deep', 'er'), { recursive: true });
    await writeFile(join(root, 'missing', 'deep', 'er', 'g'), body);
    expect(check.check(join(root, 'missing', 'deep', 'er', 'h'), expected)).toBeUndefined();
    // The output folder itself held a file, so files in it are read.
    expect(await check.check(join(root, 'top'), expected)).toBe(body.length);
  });

  it('answers at once under an output folder that does not exist', () => {
    const root = join(dir, 'nowhere');
    const check = new SkipCheck(root);
    expect(check.check(join(root, 'f'), expected)).toBeUndefined();
    expect(check.check(join(root, 'a', 'b', 'f'), expected)).toBeUndefined();
  });

  it('removes the stale temps of this machine for each destination it checks, with or without digests', async () => {
    const root = join(dir, 'stale');
    await mkdir(join(root, 'sub'), { recursive: true });
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
    );
    const foreign = HOST_TAG === '0badc0de' ? '0badc0df' : '0badc0de';
    const temp = (name: string, host: string, pid: number, unique: string) =>
      `.${name}.${host}-${pid}.${unique}${TEMP_SUFFIX}`;
    const left = [
      temp('a', HOST_TAG, process.pid, 'x1'),
      temp('a', foreign, dead, 'x2'),
      temp('other', HOST_TAG, dead, 'x3'),
      'a',
    ];
    for (const name of [
      ...left,
      temp('a', HOST_TAG, dead, 'x4'),
      temp('a', HOST_TAG, dead, 'x5'),
    ]) {
      await writeFile(join(root, 'sub', name), 'x');
    }
    const check = new SkipCheck(root);
    expect(check.check(join(root, 'sub', 'a'), {})).toBeUndefined();
    // Only the temps of the destination checked, and only those of dead processes of this machine.
    expect((await readdir(join(root, 'sub'))).sort()).toEqual(left.sort());
  });
});
