/**
 * Where `@dl` writes diagnostics. Messages and fields never contain secrets.
 * Defaults to a logger that drops everything.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
