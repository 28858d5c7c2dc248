import { DownloadError, ErrorCodes } from '@dl/core';
import {
  entryMatches,
  fingerprintOf,
  keyTypeOf,
  knownHostsName,
  type KnownHostEntry,
} from './known-hosts.js';

/** Rejects a pinned fingerprint that is not `SHA256:<base64>` (as `ssh-keygen -lf` prints it). */
export function checkFingerprintPins(
  pins: Readonly<Record<string, string | readonly string[]>> | undefined,
): void {
  for (const [host, list] of Object.entries(pins ?? {})) {
    for (const pin of typeof list === 'string' ? [list] : list) {
      if (!/^(SHA256:)?[A-Za-z0-9+/]{43}=?$/.test(pin)) {
        throw new DownloadError(
          `sftp option hostFingerprints["${host}"]: expected SHA256:<base64>, got "${pin}"`,
          {
            code: ErrorCodes.InvalidRequest,
            details: { adapter: 'sftp', option: 'hostFingerprints' },
          },
        );
      }
    }
  }
}

/** What the policy says about one host key. */
export type HostKeyVerdict =
  | { readonly trusted: true; readonly fingerprint: string; readonly keyType: string }
  | {
      readonly trusted: false;
      /** `unknown`: nothing is known about the host; `changed`: it is known with other keys; `revoked`: listed as revoked. */
      readonly reason: 'unknown' | 'changed' | 'revoked';
      readonly fingerprint: string;
      readonly keyType: string;
    };

/** Host key algorithms ssh2 can negotiate for each key type found in known_hosts. */
const ALGORITHMS: Readonly<Record<string, readonly string[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};
const DEFAULT_ORDER = Object.values(ALGORITHMS).flat();

function normalizePin(pin: string): string {
  return pin.startsWith('SHA256:') ? pin.replace(/=+$/, '') : `SHA256:${pin.replace(/=+$/, '')}`;
}

/**
 * Decides whether a server's host key is trusted, from known_hosts entries
 * and pinned fingerprints. Nothing known about a host means `unknown`, a
 * different key than the known ones means `changed`: both are refused.
 */
export class HostKeyPolicy {
  readonly #entries: readonly KnownHostEntry[];
  readonly #pins: ReadonlyMap<string, readonly string[]>;

  constructor(
    entries: readonly KnownHostEntry[],
    pins: Readonly<Record<string, string | readonly string[]>>,
  ) {
    this.#entries = entries;
    const map = new Map<string, string[]>();
    for (const [name, value] of Object.entries(pins)) {
      const list = (typeof value === 'string' ? [value] : [...value]).map(normalizePin);
      map.set(name.toLowerCase(), list);
    }
    this.#pins = map;
  }

  #pinsFor(host: string, port: number): string[] {
    const names = [`${host}:${port}`, `[${host}]:${port}`, ...(port === 22 ? [host] : []), host];
    const out: string[] = [];
    for (const name of new Set(names)) out.push(...(this.#pins.get(name.toLowerCase()) ?? []));
    return out;
  }

  #entriesFor(host: string, port: number): KnownHostEntry[] {
    const name = knownHostsName(host, port);
    return this.#entries.filter((entry) => entryMatches(entry, name));
  }

  /** Judges the key a server presented. */
  verify(host: string, port: number, key: Buffer): HostKeyVerdict {
    const fingerprint = fingerprintOf(key);
    const keyType = keyTypeOf(key);
    const blob = key.toString('base64');
    const entries = this.#entriesFor(host, port);
    if (this.#entries.some((entry) => entry.marker === 'revoked' && entry.key === blob)) {
      return { trusted: false, reason: 'revoked', fingerprint, keyType };
    }
    const plain = entries.filter((entry) => entry.marker === undefined);
    const pins = this.#pinsFor(host, port);
    if (plain.some((entry) => entry.key === blob) || pins.includes(fingerprint)) {
      return { trusted: true, fingerprint, keyType };
    }
    return {
      trusted: false,
      reason: plain.length > 0 || pins.length > 0 ? 'changed' : 'unknown',
      fingerprint,
      keyType,
    };
  }

  /**
   * Host key algorithms to offer, those of the keys known for the host
   * first (as OpenSSH does), so a host known by its RSA key is not refused
   * for presenting its Ed25519 key. Undefined when nothing is known.
   */
  preferredAlgorithms(host: string, port: number): string[] | undefined {
    const known = this.#entriesFor(host, port)
      .filter((entry) => entry.marker === undefined)
      .flatMap((entry) => ALGORITHMS[entry.keyType] ?? []);
    if (known.length === 0) return undefined;
    return [...new Set([...known, ...DEFAULT_ORDER])];
  }
}
