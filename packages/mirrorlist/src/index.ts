export { mirrors, type MirrorsInterceptor } from './mirrors.js';
export type {
  MirrorsOptions,
  MirrorSetOptions,
  MirrorEntry,
  MirrorStrategy,
  RefusedEntries,
} from './mirrors-options.js';
export {
  parseMetalink,
  type Metalink,
  type MetalinkFile,
  type MetalinkUrl,
  type MetalinkMetaurl,
  type MetalinkAlternate,
  type ParseMetalinkOptions,
} from './metalink.js';
export { parseMirrorList, type MirrorList, type ParseMirrorListOptions } from './mirror-list.js';
export { metalinkRequests, type MetalinkRequestsOptions } from './metalink-requests.js';
export {
  MirrorListError,
  MIRRORLIST_INVALID,
  type MirrorListProblem,
  type MirrorListErrorOptions,
} from './mirrorlist-error.js';
export type { RejectedEntry } from './entry-url.js';
export type { MirrorAttempt } from './file-attempts.js';
