export { createMemoryStore, type MemoryStore, type MemoryFileOptions } from './memory-store.js';
export type { MemoryFault } from './memory-fault.js';
export { memoryAdapter, type MemorySession } from './memory-adapter.js';
export type { MemoryAdapterOptions } from './memory-adapter-options.js';
export { generatedContent } from './generated-content.js';
export { waitFor, type WaitForOptions } from './wait-for.js';
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
export { adapterConformance } from './adapter-conformance.js';
export type { ConformanceFixture, ConformanceSetup, ConformanceIt } from './conformance-setup.js';
export {
  memoryConformanceFixture,
  type MemoryConformanceFixture,
} from './memory-conformance-fixture.js';
export { httpConformanceFixture, type HttpConformanceFixture } from './http-conformance-fixture.js';
export { fileConformanceFixture, type FileConformanceFixture } from './file-conformance-fixture.js';
export { createTransferProbe, type TransferProbe } from './transfer-probe.js';
export * from './daemons/index.js';
export {
  capturingLogger,
  sessionContext,
  openRequest,
  readAll,
  rejectionOf,
  type CapturingLogger,
} from './adapter-test-helpers.js';
export {
  startFaultProxy,
  type FaultProxy,
  type FaultProxyStats,
} from './fault-proxy/fault-proxy.js';
export { seededRandom } from './fault-proxy/fault-plan.js';
export type {
  FaultProxyOptions,
  FaultSchedule,
  FaultKind,
  FaultChannel,
  FaultRule,
  RandomFaults,
} from './fault-proxy/fault-proxy-options.js';
