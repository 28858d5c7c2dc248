import { readFile } from 'node:fs/promises';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

/**
 * A credential by reference: the name of an environment variable, or a file
 * whose content (trailing newline removed) is the secret. References survive
 * `toJSON()` so another process can rebuild the adapter; the secret itself
 * is read only when the session is created.
 */
export type SecretRef = { readonly env: string } | { readonly file: string };

/**
 * A credential given inline (a string) or by reference. Inline secrets work
 * but are redacted from `toJSON()`: prefer a reference for configurations
 * that are handed to another process.
 */
export type SecretInput = string | SecretRef;

/** What `toJSON()` writes in place of an inline secret; rejected when read back. */
export const REDACTED_SECRET = Object.freeze({ redacted: true as const });

/** Reads the secret a {@link SecretInput} stands for. */
export async function resolveSecret(input: SecretInput, what: string): Promise<string> {
  if (typeof input === 'string') return input;
  if (typeof input === 'object' && input !== null) {
    if ('env' in input && typeof input.env === 'string') {
      const value = process.env[input.env];
      if (value === undefined || value === '') {
        throw invalid(`The ${what} references environment variable ${input.env}, which is not set`);
      }
      return value;
    }
    if ('file' in input && typeof input.file === 'string') {
      try {
        return (await readFile(input.file, 'utf8')).replace(/\r?\n$/, '');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
        throw invalid(
          `The ${what} references file ${input.file}, which cannot be read (${code})`,
          error,
        );
      }
    }
    if ('redacted' in input) {
      throw invalid(
        `The ${what} was given inline and redacted when serialized; pass it by reference`,
      );
    }
  }
  throw invalid(`The ${what} must be a string, { env } or { file }`);
}

/** The plain-data form of a secret: references as they are, inline values redacted. */
export function serializeSecret(input: SecretInput): SecretRef | typeof REDACTED_SECRET {
  return typeof input === 'string' ? REDACTED_SECRET : { ...input };
}

/** Every inline secret of a list, for scrubbing text that might echo one (see `redactText`). */
export function inlineSecrets(inputs: readonly (SecretInput | undefined)[]): string[] {
  return inputs.filter((s): s is string => typeof s === 'string');
}

function invalid(message: string, cause?: unknown): DownloadError {
  return new DownloadError(message, {
    code: ErrorCodes.InvalidRequest,
    ...(cause === undefined ? {} : { cause }),
  });
}
