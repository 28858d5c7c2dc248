import { serializeSecret, type SecretInput } from '../config/secret-input.js';

/** The keys of `O` whose values are secrets. */
export type SecretKeys<O> = {
  [K in keyof O]-?: NonNullable<O[K]> extends SecretInput ? K : never;
}[keyof O];

/**
 * An adapter's options as plain data for `toJSON()`: a copy in which the
 * named secrets given by reference (`{ env }`, `{ file }`) stay references
 * and inline ones become `{ redacted: true }` (see `serializeSecret`), so the
 * JSON can be handed to another process without carrying a password. Every
 * other option is copied as it is: keep injected objects out of `options`.
 */
export function serializeSecrets<O extends object>(
  options: O,
  secrets: readonly SecretKeys<O>[],
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(options as Record<string, unknown>) };
  for (const key of secrets) {
    const value = options[key] as SecretInput | undefined;
    if (value !== undefined) out[key as string] = serializeSecret(value);
  }
  return out;
}
