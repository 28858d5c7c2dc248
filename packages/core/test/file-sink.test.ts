import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDownloaderFactory, DownloadError, ErrorCodes } from '../src/index.js';
import { FileSink, FileSinkContext } from '../src/runtime/file-sink.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dl-sink-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (n: number, seed = 7) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('the file sink', () => {
  it('writes small and large files whole, replaces an existing file, leaves no temp file', async () => {
    const store = createMemoryStore();
    const small = bytes(1000);
    const large = bytes(3 * 1024 * 1024, 3);
    store.put('mem://h.test/small', small);
    store.put('mem://h.test/large', large);
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 64 * 1024 })],
    });
    await mkdir(join(dir, 'out'));
    await writeFile(join(dir, 'out', 'small'), 'old content');
    await factory.download({ url: 'mem://h.test/small', destination: join(dir, 'out', 'small') });
    await factory.download({ url: 'mem://h.test/large', destination: join(dir, 'out', 'large') });
    expect(await readFile(join(dir, 'out', 'small'))).toEqual(Buffer.from(small));
    // equals(), not toEqual(): a deep compare of 3 MiB takes the test runner seconds.
    expect((await readFile(join(dir, 'out', 'large'))).equals(large)).toBe(true);
    expect((await readdir(join(dir, 'out'))).sort()).toEqual(['large', 'small']);
  });

  it('recreates a folder removed between two downloads into it', async () => {
    const store = createMemoryStore();
    const data = bytes(500);
    store.put('mem://h.test/a', data);
    await using factory = createDownloaderFactory({ adapters: [memoryAdapter(store)] });
    const folder = join(dir, 'deep', 'folder');
    await factory.download({ url: 'mem://h.test/a', destination: join(folder, 'one') });
    // The sink remembers folders it made; one that vanished must be made again.
    await rm(join(dir, 'deep'), { recursive: true });
    await factory.download({ url: 'mem://h.test/a', destination: join(folder, 'two') });
    expect(await readdir(folder)).toEqual(['two']);
    expect(await readFile(join(folder, 'two'))).toEqual(Buffer.from(data));
  });

  it('fails with write-failed naming the destination and the URL (redacted) when the folder cannot be made, and leaves nothing', async () => {
    const store = createMemoryStore();
    store.put('mem://h.test/a', bytes(500));
    await using factory = createDownloaderFactory({ adapters: [memoryAdapter(store)] });
    // A file where a folder should be.
    await writeFile(join(dir, 'blocker'), 'x');
    const destination = join(dir, 'blocker', 'inside', 'a');
    const error = await factory
      .download({ url: 'mem://user:pw-secret@h.test/a?sig=sig-secret', destination })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(DownloadError.isInstance(error)).toBe(true);
    expect((error as DownloadError).code).toBe(ErrorCodes.WriteFailed);
    expect((error as DownloadError).message).toBe(
      `Cannot write ${destination} (ENOTDIR) downloading mem://h.test/a?sig=REDACTED`,
    );
    expect((error as DownloadError).url).toBe('mem://h.test/a?sig=REDACTED');
    expect(JSON.stringify(error)).not.toContain('secret');
    expect(await readdir(dir)).toEqual(['blocker']);
  });

  it.runIf(process.platform === 'linux')(
    'fails with write-failed, promptly, where recursive mkdir would loop forever (/proc)',
    async () => {
      const store = createMemoryStore();
      store.put('mem://h.test/small', bytes(500));
      store.put('mem://h.test/large', bytes(1024 * 1024));
      await using factory = createDownloaderFactory({
        adapters: [memoryAdapter(store, { chunkSize: 64 * 1024 })],
      });
      const started = Date.now();
      // Small goes through the synchronous path, large through the asynchronous one.
      for (const [name, destination] of [
        ['small', '/proc/nope/file'],
        ['large', '/proc/nope/deeper/file'],
      ] as const) {
        const error = await factory
          .download({
            url: `mem://h.test/${name}`,
            destination,
            signal: AbortSignal.timeout(3000),
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect((error as DownloadError).code).toBe(ErrorCodes.WriteFailed);
        expect((error as DownloadError).message).toContain(destination);
      }
      expect(Date.now() - started).toBeLessThan(2000);
    },
  );

  it("slow writes switch only their own factory's small files off the synchronous path, for a quiet spell", async () => {
    const slow = new FileSinkContext();
    const other = new FileSinkContext();
    const write = async (name: string, files: FileSinkContext) => {
      const sink = new FileSink(join(dir, name), undefined, files);
      await sink.write(bytes(100));
      expect(await sink.commit()).toBe(join(dir, name));
    };
    // Small files whose synchronous writes each blocked the loop for 60 ms (more than the 50 ms stall).
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (clock += 60));
    const timed = vi.spyOn(slow, 'timedSync');
    try {
      // One stall is a preemption on a busy machine as much as a slow file system: no switch.
      await write('a', slow);
      expect(slow.syncWrites).toBe(true);
      // A pattern of them is a slow file system.
      await write('b', slow);
      await write('c', slow);
      expect(slow.syncWrites).toBe(false);
      expect(timed).toHaveBeenCalledTimes(3);
      // The clock stands still: the next small files go to the thread pool, the loop is not blocked.
      now.mockImplementation(() => clock);
      await write('d', slow);
      await write('e', other);
      expect(timed).toHaveBeenCalledTimes(3);
      expect(slow.syncWrites).toBe(false);
      // After the quiet spell the synchronous path is tried again.
      clock += 10_001;
      expect(slow.syncWrites).toBe(true);
      await write('f', slow);
      expect(timed).toHaveBeenCalledTimes(4);
    } finally {
      now.mockRestore();
      timed.mockRestore();
    }
    expect((await readdir(dir)).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(other.syncWrites).toBe(true);
  });

  it('a file system that stays slow is retried after ever longer spells, one hang switches at once', () => {
    const files = new FileSinkContext();
    files.timedSync(600, 1000);
    expect(files.syncWrites).toBe(false);
    const now = vi.spyOn(performance, 'now');
    try {
      now.mockReturnValue(1000 + 9_999);
      expect(files.syncWrites).toBe(false);
      now.mockReturnValue(1000 + 10_000);
      expect(files.syncWrites).toBe(true);
      // Still slow: over half of a window's writes over 1 ms.
      for (let i = 0; i < 33; i++) files.timedSync(2, 20_000);
      expect(files.syncWrites).toBe(false);
      now.mockReturnValue(20_000 + 19_999);
      expect(files.syncWrites).toBe(false);
      now.mockReturnValue(20_000 + 20_000);
      expect(files.syncWrites).toBe(true);
      // A whole quick window: the next spell is the short one again.
      for (let i = 0; i < 64; i++) files.timedSync(0.1, 50_000);
      files.timedSync(600, 50_000);
      now.mockReturnValue(50_000 + 10_000);
      expect(files.syncWrites).toBe(true);
    } finally {
      now.mockRestore();
    }
  });
});
