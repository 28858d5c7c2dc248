import { fileAdapter } from '@dl/core';
import { it } from 'vitest';
import { adapterConformance } from './adapter-conformance.js';
import { fileConformanceFixture } from './file-conformance-fixture.js';

// The core's own file: adapter, through the same suite third parties run.
adapterConformance(it, {
  name: 'file adapter',
  fixture: fileConformanceFixture,
  adapter: () => fileAdapter(),
  builder: fileAdapter,
});
