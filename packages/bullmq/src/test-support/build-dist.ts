import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packages = fileURLToPath(new URL('../../../', import.meta.url));
/** What a fleet member loads at run time: the built core, http adapter and this package. */
const BUILT = ['core', 'http', 'bullmq'];

/**
 * Builds the packages a child fleet member imports when a dist is missing
 * or older than its sources. `pnpm verify` builds first, so CI skips this.
 */
export function buildDistIfStale(): void {
  const stale = BUILT.filter((name) => {
    const built = statSync(join(packages, name, 'dist', 'index.js'), { throwIfNoEntry: false });
    return built === undefined || newest(join(packages, name, 'src')) > built.mtimeMs;
  });
  if (stale.length === 0) return;
  execFileSync('pnpm', [...BUILT.flatMap((name) => ['--filter', `@dl/${name}`]), 'run', 'build'], {
    cwd: packages,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (
      entry.isFile() &&
      !entry.name.endsWith('.test.ts') &&
      !entry.parentPath.includes('test-support')
    ) {
      latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return latest;
}
