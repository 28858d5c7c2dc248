import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packages = fileURLToPath(new URL('../../', import.meta.url));
/** The packages the built `dl` loads at run time (its workspace dependencies and itself). */
const BUILT = ['core', 'http', 'ftp', 'sftp', 'mirrorlist', 'bullmq', 'cli'];

/**
 * Vitest global setup: the tests run the BUILT `dl` as a child process, so
 * build it (and the packages it imports) when a dist is missing or older
 * than its sources. `pnpm verify` builds first, so CI skips this.
 */
export function setup(): void {
  const stale = BUILT.filter((name) => {
    const built = statSync(join(packages, name, 'dist', 'index.js'), { throwIfNoEntry: false });
    return built === undefined || newest(join(packages, name, 'src')) > built.mtimeMs;
  });
  if (stale.length === 0) return;
  execFileSync('pnpm', ['--filter', '@dl/cli...', 'run', 'build'], {
    cwd: packages,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && !entry.name.endsWith('.test.ts')) {
      latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return latest;
}
