import { packageProject } from '../../vitest.shared.js';

const project = packageProject('suites', { testTimeout: 120_000 });

// Some suites run the BUILT `dl`; build it first when it is missing or stale.
export default {
  ...project,
  test: { ...project.test, globalSetup: ['../cli/test/build-dist.ts'] },
};
