import { DownloadError, ErrorCodes } from '@dl/core';
import { DEFAULT_ALLOWED_SCHEMES, DEFAULT_MAX_DOCUMENT_BYTES } from './metalink.js';
import type {
  MirrorSetOptions,
  MirrorsOptions,
  MirrorStrategy,
  RefusedEntries,
} from './mirrors-options.js';
import { inlineMirrors } from './set-loader.js';

/** {@link MirrorsOptions} checked, with every default filled in. */
export interface MirrorsSettings {
  readonly sets: Readonly<Record<string, MirrorSetOptions>>;
  readonly strategy: MirrorStrategy;
  readonly allowedSchemes: readonly string[];
  readonly listTtlMs: number;
  readonly maxDocumentBytes: number;
  readonly cooldownMs: number;
  readonly maxCooldownMs: number;
  readonly badBytesCooldownMs: number;
  readonly maxConnectionsPerMirror: number;
  readonly preferLocations: readonly string[];
  readonly resumeAcrossMirrors: 'verified' | 'always' | 'never';
  readonly scheme: string;
  readonly random: () => number;
  readonly onRefused: ((refusal: RefusedEntries) => void) | undefined;
}

const SET_NAME = /^[a-z0-9](?:[a-z0-9.-]{0,61}[a-z0-9])?$/;

/** Checks the options; a mistake is an `invalid-request` error naming the option. */
export function mirrorsSettings(options: MirrorsOptions): MirrorsSettings {
  if (typeof options !== 'object' || options === null) throw bad('', 'pass an options object');
  const sets: Record<string, MirrorSetOptions> = {};
  if (
    typeof options.sets !== 'object' ||
    options.sets === null ||
    Object.keys(options.sets).length === 0
  ) {
    throw bad('sets', 'name at least one mirror set');
  }
  for (const [raw, set] of Object.entries(options.sets)) {
    const name = raw.toLowerCase();
    if (!SET_NAME.test(name)) {
      throw bad(
        `sets.${raw}`,
        'a set name is letters, digits, "-" and "." (it is the host of mirror://NAME/)',
      );
    }
    if (Object.hasOwn(sets, name)) throw bad(`sets.${raw}`, 'two sets differ only in case');
    if (set.mirrors !== undefined && !Array.isArray(set.mirrors))
      throw bad(`sets.${raw}.mirrors`, 'must be an array');
    if ((set.mirrors ?? []).length === 0 && set.list === undefined) {
      throw bad(`sets.${raw}`, 'give `mirrors`, a `list` URL, or both');
    }
    if (set.list !== undefined && !URL.canParse(set.list))
      throw bad(`sets.${raw}.list`, 'is not a URL');
    if (set.format !== undefined && !['auto', 'mirrorlist', 'metalink'].includes(set.format)) {
      throw bad(`sets.${raw}.format`, "must be 'auto', 'mirrorlist' or 'metalink'");
    }
    inlineMirrors(name, set);
    sets[name] = set;
  }
  const strategy = options.strategy ?? 'failover';
  if (strategy !== 'failover' && strategy !== 'spread')
    throw bad('strategy', "must be 'failover' or 'spread'");
  const resume = options.resumeAcrossMirrors ?? 'verified';
  if (!['verified', 'always', 'never'].includes(resume)) {
    throw bad('resumeAcrossMirrors', "must be 'verified', 'always' or 'never'");
  }
  const scheme = (options.scheme ?? 'mirror').toLowerCase().replace(/:$/, '');
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw bad('scheme', 'is not a URL scheme');
  return {
    sets,
    strategy,
    allowedSchemes: (options.allowedSchemes ?? DEFAULT_ALLOWED_SCHEMES).map((s) =>
      s.toLowerCase().replace(/:$/, ''),
    ),
    listTtlMs: duration(options.listTtlMs, 3_600_000, 'listTtlMs'),
    maxDocumentBytes: duration(
      options.maxDocumentBytes,
      DEFAULT_MAX_DOCUMENT_BYTES,
      'maxDocumentBytes',
    ),
    cooldownMs: duration(options.cooldownMs, 30_000, 'cooldownMs'),
    maxCooldownMs: duration(options.maxCooldownMs, 600_000, 'maxCooldownMs'),
    badBytesCooldownMs: duration(options.badBytesCooldownMs, 600_000, 'badBytesCooldownMs'),
    maxConnectionsPerMirror: connections(options.maxConnectionsPerMirror),
    preferLocations: (options.preferLocations ?? []).map((l) => l.toLowerCase()),
    resumeAcrossMirrors: resume,
    scheme,
    random: options.random ?? Math.random,
    onRefused: callback(options.onRefused, 'onRefused'),
  };
}

function callback<T>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw bad(name, 'must be a function');
  return value;
}

function duration(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw bad(name, `must be a finite number ≥ 0, got ${String(value)}`);
  }
  return value;
}

function connections(value: number | undefined | null): number {
  // JSON has no Infinity: null (or absent) means no cap.
  if (value === undefined || value === null || value === Infinity) return Infinity;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw bad('maxConnectionsPerMirror', `must be a whole number ≥ 1, got ${String(value)}`);
  }
  return value;
}

function bad(name: string, what: string): DownloadError {
  return new DownloadError(`Invalid mirrors option${name ? ` ${name}` : ''}: ${what}`, {
    code: ErrorCodes.InvalidRequest,
    details: { option: name },
  });
}
