/**
 * The stable codes a {@link DownloadError} carries. Codes never change meaning
 * between releases; new ones may be added. Third-party adapters should reuse
 * these where they fit and may add their own (prefix them with the adapter
 * name, e.g. `s3-throttled`).
 */
export const ErrorCodes = {
  /** The request itself is malformed (bad URL, bad digest hex, negative size, bad option). Not retryable. */
  InvalidRequest: 'invalid-request',
  /** No registered adapter serves the URL's scheme. Not retryable. */
  UnsupportedScheme: 'unsupported-scheme',
  /** The remote resource does not exist (HTTP 404/410, FTP 550, SFTP no such file). Not retryable on the same source. */
  NotFound: 'not-found',
  /** Authentication or authorization failed (HTTP 401/403, FTP 530, SSH auth). Not retryable. */
  AuthFailed: 'auth-failed',
  /** The remote refused the request for another reason (other 4xx). Not retryable. */
  RemoteRejected: 'remote-rejected',
  /** The remote reported a transient failure (HTTP 5xx, 408, 425, 429; FTP 4xx). Retryable. */
  RemoteUnavailable: 'remote-unavailable',
  /** Connecting, or the connection itself, failed (refused, reset, DNS, TLS handshake). Retryable. */
  ConnectionFailed: 'connection-failed',
  /** A connect, header, idle or total timeout elapsed. Retryable. */
  Timeout: 'timeout',
  /** The remote broke the protocol (bad range reply, body longer or shorter than announced). Retryable. */
  ProtocolError: 'protocol-error',
  /** The bytes do not have the expected size. Not retryable on the same source. */
  SizeMismatch: 'size-mismatch',
  /** The bytes do not have the expected digest. Not retryable on the same source. */
  DigestMismatch: 'digest-mismatch',
  /** A custom validator rejected the bytes. Not retryable on the same source. */
  ValidationFailed: 'validation-failed',
  /** Redirects exceeded the bound, looped, or pointed somewhere refused (downgrade, other scheme). Not retryable. */
  RedirectRefused: 'redirect-refused',
  /** A server's identity could not be verified (certificate, SSH host key). Not retryable. */
  UntrustedServer: 'untrusted-server',
  /** Writing the destination failed (disk full, permissions). Not retryable. */
  WriteFailed: 'write-failed',
  /** The caller aborted (signal, `break`, `return`). Not retryable. */
  Aborted: 'aborted',
  /** The factory or session was closed before or during the call. Not retryable. */
  Closed: 'closed',
  /** Every source of a mirror set failed; `details.attempts` lists each. Not retryable. */
  AllSourcesFailed: 'all-sources-failed',
  /** An adapter failed in a way it did not classify. Not retryable. */
  Internal: 'internal',
} as const;

/** One of the documented {@link ErrorCodes}, or an adapter's own code. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | (string & {});
