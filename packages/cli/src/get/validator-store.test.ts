import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VALIDATORS_FILE, ValidatorStore } from './validator-store.js';

const meta = (etag: string) => ({
  url: 'http://h/f',
  offset: 0,
  headers: {},
  etag,
  lastModified: 'Tue, 01 Oct 2024 10:00:00 GMT',
});

describe('ValidatorStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dl-validators-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives back what was recorded, in a later run too; the last line of a name wins', () => {
    const file = join(dir, 'a.bin');
    writeFileSync(file, 'hello');
    const store = new ValidatorStore();
    store.record(file, meta('"1"'));
    store.record(file, meta('"2"'));
    expect(store.lookup(file)).toMatchObject({ etag: '"2"', size: 5 });
    store.close();
    const next = new ValidatorStore();
    expect(next.lookup(file)).toEqual({
      etag: '"2"',
      lastModified: 'Tue, 01 Oct 2024 10:00:00 GMT',
      size: 5,
    });
    next.close();
  });

  it('a corrupt line, an unknown name or a locally edited file give no validators', () => {
    const a = join(dir, 'a.bin');
    const b = join(dir, 'b.bin');
    writeFileSync(a, 'hello');
    writeFileSync(b, 'world');
    const store = new ValidatorStore();
    store.record(a, meta('"1"'));
    store.record(b, meta('"1"'));
    store.close();
    // b's line cut in half, then garbage.
    const text = readFileSync(join(dir, VALIDATORS_FILE), 'utf8').split('\n');
    writeFileSync(
      join(dir, VALIDATORS_FILE),
      `${text[0]}\n${text[1]!.slice(0, 20)}\nnot json\n[]\n`,
    );
    const next = new ValidatorStore();
    expect(next.lookup(a)).toMatchObject({ etag: '"1"' });
    expect(next.lookup(b)).toBeUndefined();
    expect(next.lookup(join(dir, 'c.bin'))).toBeUndefined();
    next.close();
    utimesSync(a, new Date(), new Date(Date.now() + 5_000));
    expect(new ValidatorStore().lookup(a)).toBeUndefined();
  });

  it('compacts a sidecar that is mostly stale lines', () => {
    const file = join(dir, 'a.bin');
    writeFileSync(file, 'hello');
    const store = new ValidatorStore();
    for (let i = 0; i < 100; i++) store.record(file, meta(`"${i}"`));
    store.close();
    expect(new ValidatorStore().lookup(file)).toMatchObject({ etag: '"99"' });
    expect(readFileSync(join(dir, VALIDATORS_FILE), 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
