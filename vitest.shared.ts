import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const packages = ['core', 'testkit', 'http', 'ftp', 'sftp', 'mirrorlist', 'cli', 'bullmq'];

/** `@dl/*` resolve to source, so tests need no build. */
export const sourceAliases = Object.fromEntries(
  packages.map((name) => [`@dl/${name}`, `${root}packages/${name}/src/index.ts`]),
);

/** The project config every package's `vitest.config.ts` uses. */
export function packageProject(name: string, overrides: { testTimeout?: number } = {}) {
  return defineProject({
    resolve: { alias: sourceAliases },
    test: {
      name,
      environment: 'node',
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: overrides.testTimeout ?? 30_000,
      hookTimeout: 60_000,
    },
  });
}
