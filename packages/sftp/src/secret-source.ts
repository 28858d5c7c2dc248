import { readFile } from 'node:fs/promises';
import { DownloadError, ErrorCodes } from '@dl/core';

/**
 * A secret given inline or by reference. References keep the options plain,
 * shareable data: `{ env: 'SFTP_PASSWORD' }` reads an environment variable,
 * `{ file: '/run/secrets/sftp-key' }` a file (trailing newline dropped), both when
 * the session is created. Inline strings are redacted by `toJSON()`.
 */
export type SecretSource = string | { readonly env: string } | { readonly file: string };

/** Reads a secret; `what` names it in errors (never its value). */
export async function resolveSecret(source: SecretSource, what: string): Promise<string> {
  if (typeof source === 'string') return source;
  if ('env' in source) {
    const value = process.env[source.env];
    if (value === undefined) {
      throw new DownloadError(`The environment variable ${source.env} (${what}) is not set`, {
        code: ErrorCodes.InvalidRequest,
      });
    }
    return value;
  }
  if ('file' in source) {
    try {
      return (await readFile(source.file, 'utf8')).replace(/\r?\n$/, '');
    } catch (error) {
      throw new DownloadError(`Cannot read the file ${source.file} (${what})`, {
        code: ErrorCodes.InvalidRequest,
        cause: error,
      });
    }
  }
  throw new DownloadError(`Bad secret reference for ${what}: use a string, { env } or { file }`, {
    code: ErrorCodes.InvalidRequest,
  });
}

/** The source as plain data without the secret: references are kept, inline values redacted. */
export function redactSecretSource(source: SecretSource): SecretSource {
  return typeof source === 'string' ? 'REDACTED' : { ...source };
}
