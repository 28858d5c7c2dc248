import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packages = fileURLToPath(new URL('../../', import.meta.url));
/** The packages the child processes of the tests (src/test-support/*.mjs) load from their dist. */
const BUILT = ['core', 'http', 'ftp', 'bullmq'];

/**
 * Vitest global setup: the fleet tests run workers as child processes on
 * the BUILT packages, so build the ones whose dist is missing or older than
 * their sources. `pnpm verify` builds first, so CI skips this.
 */
export function setup(): void {
  const stale = BUILT.filter((name) => {
    const built = statSync(join(packages, name, 'dist', 'index.js'), { throwIfNoEntry: false });
    return built === undefined || newest(join(packages, name, 'src')) > built.mtimeMs;
  });
  if (stale.length === 0) return;
  execFileSync('pnpm', [...stale.flatMap((name) => ['--filter', `@dl/${name}`]), 'run', 'build'], {
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
