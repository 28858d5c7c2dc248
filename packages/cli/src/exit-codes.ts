/** The exit statuses of `dl`, as the design contract fixes them. */
export const ExitCodes = {
  /** Every file was downloaded (or already there) and valid. */
  Ok: 0,
  /** Some downloads failed, or some manifest lines were bad and skipped. */
  SomeFailed: 1,
  /** Bad usage or bad input (with `--strict`, any bad manifest line). */
  Usage: 2,
  /** Stopped by SIGINT (128 + 2). */
  Interrupted: 130,
  /** Stopped by SIGTERM (128 + 15). */
  Terminated: 143,
} as const;

/** One of {@link ExitCodes}. */
export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** Thrown for bad usage; the command prints the message and exits with {@link ExitCodes.Usage}. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
