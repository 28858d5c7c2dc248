import { packageProject } from '../../vitest.shared.js';

export default packageProject('data-adapter');
