export { createMemoryStore, type MemoryStore, type MemoryFileOptions } from './memory-store.js';
export type { MemoryFault } from './memory-fault.js';
export { memoryAdapter, type MemorySession } from './memory-adapter.js';
export type { MemoryAdapterOptions } from './memory-adapter-options.js';
export { generatedContent } from './generated-content.js';
export { waitFor } from './wait-for.js';
export { countOpenFds } from './open-fds.js';
export { activeResources, resourceGrowth, type ResourceCounts } from './active-resources.js';
export { heapUsedAfterGc } from './heap-used.js';
export {
  startHttpFixture,
  type HttpFixture,
  type HttpFixtureStats,
  type HttpRouteHandler,
  type RecordedRequest,
} from './http-fixture.js';
export type { HttpFixtureOptions, HttpFileOptions } from './http-fixture-options.js';
export type { HttpFault } from './http-fault.js';
