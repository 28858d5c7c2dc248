import type { RejectedEntry } from './entry-url.js';

/** How the mirrors of a set share the downloads. */
export type MirrorStrategy =
  /** Every file goes to the best-ranked healthy mirror (list order, priority, preferred location); the others are for failover. */
  | 'failover'
  /**
   * Files are shared among the healthy mirrors by measured throughput and
   * load, with a little randomness, so a slow first mirror does not take
   * all the traffic.
   */
  | 'spread';

/** A mirror written inline, with its rank and limits. */
export interface MirrorEntry {
  /** Base URL of the mirror (the folder the set's relative paths are under). */
  readonly url: string;
  /** Rank, lower first; entries without one follow in the order given. @default its position */
  readonly priority?: number;
  /** ISO 3166-1 country code, matched against `preferLocations`. @default none */
  readonly location?: string;
  /** Transfers at once to this mirror's host. @default `maxConnectionsPerMirror` */
  readonly maxConnections?: number;
}

/** One named set of mirrors: inline, from a remote list or metalink, or both. */
export interface MirrorSetOptions {
  /**
   * Mirrors written by the caller. They are trusted (any scheme, `file:`
   * included; their own credentials kept) and requests whose URL starts
   * with one of them are served through the set. Tried before the mirrors
   * of `list`.
   * @default []
   */
  readonly mirrors?: readonly (string | MirrorEntry)[];
  /**
   * URL of a plain mirror list or a Metalink 3/4 document, fetched through
   * the factory (any registered scheme), cached and refreshed after
   * `listTtlMs`. Its entries are untrusted: only `allowedSchemes`, no
   * credentials.
   * @default none
   */
  readonly list?: string;
  /** How to read `list`: sniffed (`<` first means a metalink), or forced. @default 'auto' */
  readonly format?: 'auto' | 'mirrorlist' | 'metalink';
  /**
   * For a metalink `list`: where the file it describes lies under each
   * mirror's base, so the bases can be derived from its URLs (Fedora's
   * repository metalinks describe `repodata/repomd.xml`). Other files of the
   * set are then fetched from those bases.
   * @default the described file's name
   */
  readonly metalinkPath?: string;
}

/**
 * Options of {@link mirrors}. Everything but `random` is plain data, so the
 * interceptor can be written as JSON (`toJSON()`) and rebuilt in another
 * process.
 */
export interface MirrorsOptions {
  /** The mirror sets by name: `mirror://<name>/<path>` addresses `<path>` relative to the set. */
  readonly sets: Readonly<Record<string, MirrorSetOptions>>;
  /** How downloads are shared among healthy mirrors. @default 'failover' */
  readonly strategy?: MirrorStrategy;
  /**
   * Schemes accepted from remote lists and metalinks (inline mirrors may
   * use any). Add `file` only if a remote list may point at local files.
   * @default ['http', 'https', 'ftp', 'ftps', 'sftp']
   */
  readonly allowedSchemes?: readonly string[];
  /** How long a fetched list or metalink is used before it is fetched again. @default 3600000 */
  readonly listTtlMs?: number;
  /** Largest list or metalink accepted, in bytes. @default 4194304 */
  readonly maxDocumentBytes?: number;
  /**
   * How long a mirror that failed (connection, timeout, 5xx, 404) is ranked
   * last; doubles with each further failure in a row, up to `maxCooldownMs`.
   * @default 30000
   */
  readonly cooldownMs?: number;
  /** Longest cool-down after failures in a row. @default 600000 */
  readonly maxCooldownMs?: number;
  /** How long a mirror that served bad bytes (size or digest mismatch) is ranked last. @default 600000 */
  readonly badBytesCooldownMs?: number;
  /**
   * Transfers at once to one mirror host through this interceptor. The
   * adapters' own per-host limit (the factory's `limits.perHost`) applies
   * as well.
   * @default Infinity
   */
  readonly maxConnectionsPerMirror?: number;
  /** Country codes whose mirrors rank first under `failover`. @default [] */
  readonly preferLocations?: readonly string[];
  /**
   * When a download cut mid-file continues on another mirror: `'verified'`
   * only when a digest is expected (from the request or a metalink), so a
   * splice of two different files cannot go unnoticed; `'always'`; or
   * `'never'` (start over).
   * @default 'verified'
   */
  readonly resumeAcrossMirrors?: 'verified' | 'always' | 'never';
  /** The scheme of set-relative URLs. @default 'mirror' */
  readonly scheme?: string;
  /** Source of randomness for `spread` (tests make it deterministic). Not serialized. @default Math.random */
  readonly random?: () => number;
  /**
   * Told once per set when its remote list or metalink had entries that were
   * refused (a scheme not in `allowedSchemes` such as `file:`, credentials,
   * not a URL); the other entries are used. Each fetch is also logged as a
   * warning on the factory's logger. Not serialized.
   * @default none
   */
  readonly onRefused?: (refusal: RefusedEntries) => void;
}

/** Entries of a remote list or metalink that were not used, as {@link MirrorsOptions.onRefused} reports them. */
export interface RefusedEntries {
  /** The mirror set whose list it is. */
  readonly set: string;
  /** The list's URL, redacted. */
  readonly list: string;
  /** Each refused entry (redacted) and why; at most 10. */
  readonly refused: readonly RejectedEntry[];
  /** How many entries were refused in all. */
  readonly count: number;
}
