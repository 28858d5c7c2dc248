import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CliIo } from '../cli-io.js';
import { UsageError } from '../exit-codes.js';
import { systemReason } from '../system-reason.js';

/** A manifest that can be read once, or (`rereadable`) again from the start. */
export interface ManifestFile {
  /** A fresh stream over the manifest (stdin can be read only once unless spooled). */
  open(): Readable;
  /** Removes the spooled copy of stdin, if any. */
  dispose(): Promise<void>;
}

/**
 * Opens `-i SPEC`: a file (checked readable now, so a typo is a usage
 * error), or `-` for stdin. With `rereadable`, stdin is first copied to a
 * temp file (streamed, never held in memory) so `--strict` can read it twice.
 */
export async function openManifestFile(
  spec: string,
  io: CliIo,
  rereadable: boolean,
): Promise<ManifestFile> {
  if (spec !== '-') {
    const path = resolve(io.cwd, spec);
    try {
      await access(path, constants.R_OK);
    } catch (error) {
      throw new UsageError(`-i ${spec}: the manifest cannot be read (${systemReason(error)})`);
    }
    return {
      open: () => createReadStream(path, { highWaterMark: 256 * 1024 }),
      dispose: async () => {},
    };
  }
  if (!rereadable) {
    let used = false;
    return {
      open: () => {
        if (used) throw new Error('stdin can be read once');
        used = true;
        return io.stdin;
      },
      dispose: async () => {},
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'dl-manifest-'));
  const path = join(dir, 'stdin.jsonl');
  try {
    await pipeline(io.stdin, createWriteStream(path), io.signal ? { signal: io.signal } : {});
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    open: () => createReadStream(path, { highWaterMark: 256 * 1024 }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
