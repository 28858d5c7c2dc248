import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

// Two entries: the library (`@dl/cli`) and the `dl` bin. The bin's
// `#!/usr/bin/env node` line is the first line of src/bin.ts; esbuild keeps
// an entry's hashbang, so only the bin gets it.
// Split so the commands' dynamic imports become chunks: `dl --help` then
// loads neither undici nor the transfer stack.
export default defineConfig({
  ...packageBuild({ index: 'src/index.ts', bin: 'src/bin.ts' }),
  splitting: true,
});
