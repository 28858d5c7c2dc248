import { defineConfig } from 'vitest/config';
import { projects } from './vitest.workspace.js';

export default defineConfig({
  test: {
    projects,
    // Tests start real servers and daemons; two cores do not want more forks.
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
