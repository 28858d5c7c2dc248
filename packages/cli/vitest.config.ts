import { packageProject } from '../../vitest.shared.js';

const project = packageProject('cli', { testTimeout: 60_000 });

// The tests run the built `dl`; build it first when it is missing or stale.
export default {
  ...project,
  test: { ...project.test, globalSetup: ['./test/build-dist.ts'] },
};
