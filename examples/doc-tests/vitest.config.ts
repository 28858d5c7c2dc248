import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';
import { sourceAliases } from '../../vitest.shared.js';

const dataAdapter = fileURLToPath(new URL('../data-adapter/src/index.ts', import.meta.url));

export default defineProject({
  resolve: {
    alias: {
      ...sourceAliases,
      // The adapter guide's third-party package and the example it is: one source.
      'dl-adapter-data': dataAdapter,
      '@dl-examples/data-adapter': dataAdapter,
    },
  },
  test: {
    name: 'docs',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
