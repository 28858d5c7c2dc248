import { packageProject } from '../../vitest.shared.js';

export default packageProject('cli', { testTimeout: 60_000 });
