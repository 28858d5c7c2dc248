import { it } from 'vitest';
import { adapterConformance, httpConformanceFixture } from '@dl/testkit';
import { http } from './index.js';

adapterConformance(it, {
  name: 'http',
  fixture: () => httpConformanceFixture(),
  adapter: () => http(),
});
