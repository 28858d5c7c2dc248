export { ErrorCodes, type ErrorCode } from './errors/error-codes.js';
export {
  DownloadError,
  abortError,
  toDownloadError,
  type DownloadErrorOptions,
} from './errors/download-error.js';
export { ValidationError, type ValidationErrorOptions } from './errors/validation-error.js';
export { redactText, redactUrl } from './util/redact.js';
export { CERTIFICATE_ERROR_CODES } from './util/certificate-codes.js';

export { DIGEST_HEX_LENGTHS, type DigestAlgorithm, type Digests } from './contracts/digests.js';
export type { ChangeValidators, DownloadRequest } from './contracts/download-request.js';
export type { DownloadResult, DownloadOutcome } from './contracts/download-result.js';
export type {
  RemoteMetadata,
  RemoteResource,
  AttemptOutcome,
  BodyConsumer,
  PushableBody,
} from './contracts/remote-resource.js';
export { isPushable } from './contracts/remote-resource.js';
export type { OpenRequest, AttemptLifetime } from './contracts/open-request.js';
export {
  composeOpen,
  type OpenFunction,
  type OpenInterceptor,
  type InterceptorContext,
} from './contracts/open-function.js';
export type { ProtocolAdapter, AdapterCapabilities } from './contracts/protocol-adapter.js';
export type {
  Session,
  AdapterSession,
  SessionContext,
  ConnectionGate,
} from './contracts/session.js';
export type { Validator, ValidatorFactory } from './contracts/validator.js';
export type { Downloader, OpenedDownload, CallOptions } from './contracts/downloader.js';
export type { DownloaderFactory, DownloadAllOptions } from './contracts/downloader-factory.js';
export type { DownloaderFactoryOptions } from './contracts/downloader-factory-options.js';
export type { Limits } from './contracts/limits.js';
export type { RetryOptions } from './contracts/retry-options.js';
export type { Logger } from './contracts/logger.js';
export type {
  DownloadEvents,
  DownloadStartEvent,
  DownloadProgressEvent,
  DownloadEndEvent,
  DownloadStats,
} from './contracts/progress.js';

export { createDownloaderFactory } from './runtime/downloader-factory.js';
export { Scheduler, type SchedulerRunner, type PlacedRequest } from './runtime/scheduler.js';
export { Limiter, localBudget, type LimiterTuning } from './runtime/limiter.js';
export type {
  AdmissionBudget,
  BudgetInit,
  BudgetProvider,
  HostEvents,
  HostRecoveredEvent,
  HostSignal,
  HostThrottle,
  HostThrottledEvent,
  Permit,
} from './contracts/admission-budget.js';
export {
  TEMP_SUFFIX,
  HOST_TAG,
  parseTempName,
  isLocalOwnerDead,
  isStaleTemp,
  removeStaleTemps,
  settleStaleTemp,
  type TempName,
  type TempOwner,
  type StaleTempOptions,
} from './runtime/temp-files.js';
export {
  RESUME_SUFFIX,
  DEFAULT_KEEP_PARTIAL_BYTES,
  keptPaths,
  readRecord as readResumeRecord,
  type ResumeRecord,
} from './runtime/resume-store.js';
export { fileAdapter, type FileAdapterOptions } from './adapters/file-adapter.js';
export { VERSION } from './util/version.js';
export type { FactoryConfig, FactoryBuilders } from './config/factory-config.js';
export { parseFactoryConfig } from './config/parse-factory-config.js';
export { rebuildDownloaderFactory } from './config/rebuild-factory.js';
export {
  resolveSecret,
  serializeSecret,
  inlineSecrets,
  REDACTED_SECRET,
  type SecretInput,
  type SecretRef,
} from './config/secret-input.js';

export { createStreamer, type Streamer } from './bridge/streamer.js';
export type {
  StreamerOptions,
  StreamTarget,
  StreamClientRequest,
  StreamOutcome,
  StreamSource,
  HeaderFilter,
  HeaderContext,
} from './bridge/streamer-options.js';
export {
  ConnectionPool,
  type PoolDriver,
  type PoolOptions,
  type Lease,
} from './pool/connection-pool.js';

// The adapter kit: the chores every adapter shares, for ours and a third party's.
export { decodeUrlPart, urlHost } from './adapter-kit/url-parts.js';
export { urlCredentials, type UrlCredentials } from './adapter-kit/url-credentials.js';
export { checkOptions, type OptionRules } from './adapter-kit/check-options.js';
export { serializeSecrets, type SecretKeys } from './adapter-kit/serialize-secrets.js';
export { redactedError } from './adapter-kit/redacted-error.js';
export { resumeOffset } from './adapter-kit/resume-offset.js';
export { noBody, notModifiedMetadata, unchangedSince } from './adapter-kit/not-modified.js';
export {
  gatedDriver,
  pooledSession,
  poolIdleTimeout,
  poolLimit,
  type PooledSession,
} from './adapter-kit/pooled-session.js';
export {
  openLeased,
  LeasedTransfer,
  type LeasedTransferDriver,
  type LeaseTarget,
} from './adapter-kit/leased-transfer.js';
