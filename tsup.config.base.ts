import { readFileSync } from 'node:fs';
import type { Options } from 'tsup';

/** The one tsup configuration every package builds with (run from the package folder). */
export function packageBuild(entry: Record<string, string> = { index: 'src/index.ts' }): Options {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  return {
    entry,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    define: { __DL_VERSION__: JSON.stringify(version) },
  };
}
