export { runCli } from './program.js';
export type { CliIo } from './cli-io.js';
export { ExitCodes, UsageError, type ExitCode } from './exit-codes.js';
export { VERSION } from './version.js';
export {
  readManifest,
  type ManifestLine,
  type ReadManifestOptions,
} from './manifest/read-manifest.js';
export {
  parseManifestLine,
  type ManifestEntry,
  type ParsedLine,
} from './manifest/manifest-entry.js';
export { resolveDestination, type Destination } from './destination.js';
export type { FinishedRecord } from './output/finished-record.js';
