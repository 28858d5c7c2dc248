import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConformanceFixture } from './conformance-setup.js';
import { createTransferProbe, type TransferProbe } from './transfer-probe.js';

/** A {@link ConformanceFixture} over a temp folder of local files. */
export interface FileConformanceFixture extends ConformanceFixture {
  /** The temp folder the files are in. */
  readonly root: string;
  /** Counts and breaks the transfers (there is no server to do it). */
  readonly probe: TransferProbe;
}

/**
 * The conformance fixture of the `file:` adapter: files in a fresh temp
 * folder, transfers counted and cut by a {@link TransferProbe} interceptor.
 */
export async function fileConformanceFixture(): Promise<FileConformanceFixture> {
  const root = await mkdtemp(join(tmpdir(), 'dl-file-fixture-'));
  const probe = createTransferProbe();
  const url = (path: string) => pathToFileURL(join(root, path)).href;
  return {
    root,
    probe,
    url,
    async put(path, data) {
      const file = join(root, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, data);
    },
    cutAfter: (path, bytes) => probe.cutNext(url(path), bytes),
    peakConnections: () => probe.peak(),
    resetPeak: () => probe.resetPeak(),
    activeTransfers: () => probe.active(),
    interceptors: [probe.interceptor],
    stop: () => rm(root, { recursive: true, force: true }),
  };
}
