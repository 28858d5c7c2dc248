import { packageProject } from '../../vitest.shared.js';

const project = packageProject('bullmq', { testTimeout: 60_000 });

// The fleet tests run workers as child processes on the BUILT packages; build them first when missing or stale.
export default {
  ...project,
  test: { ...project.test, globalSetup: ['./test/build-dist.ts'] },
};
