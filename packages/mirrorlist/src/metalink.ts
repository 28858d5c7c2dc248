import { DIGEST_HEX_LENGTHS, type DigestAlgorithm, type Digests } from '@dl/core';
import { entryUrl, rejected, type EntryPolicy, type RejectedEntry } from './entry-url.js';
import { digestAlgorithmOf } from './hash-names.js';
import { MirrorListError } from './mirrorlist-error.js';
import { unsafeNameReason } from './safe-name.js';
import { lineField, parseXml, type XmlDocument, type XmlElement } from './xml-document.js';

/** One place a metalink file can be downloaded from. */
export interface MetalinkUrl {
  readonly url: URL;
  /**
   * Rank, lower first: Metalink 4's `priority` as is, Metalink 3's
   * `preference` (1-100, higher first) as `101 - preference`. Undefined
   * when the document gives none (ranked after every ranked URL).
   */
  readonly priority?: number;
  /** ISO 3166-1 country code of the mirror, lowercase, when given. */
  readonly location?: string;
  /** Metalink 3's `maxconnections`, when given. */
  readonly maxConnections?: number;
}

/** A `metaurl` (torrent, another metalink): recorded, not followed. */
export interface MetalinkMetaurl {
  readonly url: string;
  readonly mediatype: string;
  readonly priority?: number;
}

/** Size and hashes of an older version of a file mirrors may still serve (MirrorManager's `mm0:alternates`). */
export interface MetalinkAlternate {
  readonly size?: number;
  readonly digests: Digests;
  /** `mm0:timestamp`, seconds since the epoch. */
  readonly timestamp?: number;
}

/** One file a metalink describes. */
export interface MetalinkFile {
  /** Relative path, checked: it never leaves a destination folder. */
  readonly name: string;
  readonly size?: number;
  /** Every hash of a type `@dl` computes (all are checked, not only the strongest). */
  readonly digests: Digests;
  /** Usable URLs, best first. */
  readonly urls: readonly MetalinkUrl[];
  readonly metaurls: readonly MetalinkMetaurl[];
  readonly alternates: readonly MetalinkAlternate[];
}

/** A parsed Metalink 3 or 4 document. */
export interface Metalink {
  readonly version: 3 | 4;
  readonly files: readonly MetalinkFile[];
  /** Metalink 4's `origin`: where the document itself is published. */
  readonly origin?: string;
  /** Entries that were dropped (bad URL, scheme not allowed), with the reason. */
  readonly skipped: readonly RejectedEntry[];
}

/** Options of {@link parseMetalink}. */
export interface ParseMetalinkOptions {
  /** Names the document in errors (a redacted URL, a file name). @default 'metalink' */
  readonly source?: string;
  /** Where the document was fetched: relative URLs resolve against it. */
  readonly documentUrl?: URL;
  /** Schemes accepted for URLs. @default ['http', 'https', 'ftp', 'ftps', 'sftp'] */
  readonly allowedSchemes?: readonly string[];
  /** Largest document accepted, in bytes. @default 4194304 */
  readonly maxDocumentBytes?: number;
}

const METALINK_4 = 'urn:ietf:params:xml:ns:metalink';
const METALINK_3 = 'http://www.metalinker.org/';
export const DEFAULT_ALLOWED_SCHEMES = ['http', 'https', 'ftp', 'ftps', 'sftp'] as const;
export const DEFAULT_MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

/**
 * Parses a Metalink 4 (RFC 5854) or Metalink 3 (as MirrorManager serves
 * it) document from an untrusted source. Refuses DTDs and entity
 * declarations, bad XML, hashes of the wrong length, sizes that are not
 * whole numbers and file names that would escape a folder, each with a
 * {@link MirrorListError} naming the file entry and line.
 */
export function parseMetalink(text: string, options: ParseMetalinkOptions = {}): Metalink {
  const source = options.source ?? 'metalink';
  const doc = parseXml(text, source, {
    maxBytes: options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES,
    maxDepth: 32,
  });
  if (doc.rootName !== 'metalink') {
    throw new MirrorListError(`The document is not a metalink (root element <${doc.rootName}>)`, {
      problem: 'not-metalink',
      source,
    });
  }
  const namespace = doc.attribute(doc.root, 'xmlns', 'the xmlns attribute');
  const declared = doc.attribute(doc.root, 'version', 'the version attribute');
  const version: 3 | 4 =
    namespace === METALINK_4
      ? 4
      : namespace === METALINK_3 ||
          declared?.startsWith('3') ||
          doc.children(doc.root, 'files').length > 0
        ? 3
        : 4;
  const policy: EntryPolicy = {
    allowedSchemes: new Set(
      (options.allowedSchemes ?? DEFAULT_ALLOWED_SCHEMES).map((s) =>
        s.toLowerCase().replace(/:$/, ''),
      ),
    ),
    trusted: false,
    ...(options.documentUrl === undefined ? {} : { documentUrl: options.documentUrl }),
  };
  const skipped: RejectedEntry[] = [];
  const elements =
    version === 4
      ? doc.children(doc.root, 'file')
      : doc.children(doc.root, 'files').flatMap((files) => doc.children(files, 'file'));
  const files = elements.map((element, index) =>
    parseFile(doc, element, index, version, policy, skipped, source),
  );
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.name)) {
      throw new MirrorListError(`The metalink describes the file "${file.name}" twice`, {
        problem: 'unsafe-name',
        source,
      });
    }
    seen.add(file.name);
  }
  const origin = doc.children(doc.root, 'origin')[0];
  return {
    version,
    files,
    ...(origin === undefined ? {} : { origin: doc.text(origin, 'origin') }),
    skipped,
  };
}

function parseFile(
  doc: XmlDocument,
  element: XmlElement,
  index: number,
  version: 3 | 4,
  policy: EntryPolicy,
  skipped: RejectedEntry[],
  source: string,
): MetalinkFile {
  const line = doc.lineOf(element);
  const rawName = doc.attribute(element, 'name', 'a file name');
  const label = `file #${index + 1}${rawName === undefined ? '' : ` ${JSON.stringify(rawName)}`}`;
  const fail = (
    problem: 'unsafe-name' | 'bad-size' | 'bad-hash',
    message: string,
    at?: XmlElement,
  ) =>
    new MirrorListError(`${label}: ${message}`, {
      problem,
      source,
      ...lineField(at === undefined ? line : (doc.lineOf(at) ?? line)),
    });
  if (rawName === undefined) throw fail('unsafe-name', 'has no name attribute');
  const unsafe = unsafeNameReason(rawName);
  if (unsafe !== undefined) throw fail('unsafe-name', `the name is refused: ${unsafe}`);

  const size = parseSize(doc, doc.children(element, 'size')[0], label, (m, at) =>
    fail('bad-size', m, at),
  );
  const hashParent = version === 4 ? [element] : doc.children(element, 'verification');
  const digests = parseDigests(doc, hashParent, (m, at) => fail('bad-hash', m, at));

  const urlElements =
    version === 4
      ? doc.children(element, 'url')
      : doc.children(element, 'resources').flatMap((r) => doc.children(r, 'url'));
  const fileMax = version === 3 ? doc.children(element, 'resources')[0] : undefined;
  const defaultMax =
    fileMax === undefined
      ? undefined
      : count(doc.attribute(fileMax, 'maxconnections', 'maxconnections'));
  const urls: MetalinkUrl[] = [];
  for (const u of urlElements) {
    const raw = doc.text(u, `a URL of ${label}`);
    const type = doc.attribute(u, 'type', 'a url type')?.toLowerCase();
    if (type === 'bittorrent') {
      skipped.push(rejected(raw, 'a torrent is not a mirror', doc.lineOf(u)));
      continue;
    }
    const url = entryUrl(raw, policy);
    if (typeof url === 'string') {
      skipped.push(rejected(raw, url, doc.lineOf(u)));
      continue;
    }
    const priority =
      version === 4
        ? count(doc.attribute(u, 'priority', 'a priority'))
        : preferenceRank(doc.attribute(u, 'preference', 'a preference'));
    const location = doc.attribute(u, 'location', 'a location')?.toLowerCase();
    const maxConnections =
      count(doc.attribute(u, 'maxconnections', 'maxconnections')) ?? defaultMax;
    urls.push({
      url,
      ...(priority === undefined ? {} : { priority }),
      ...(location ? { location } : {}),
      ...(maxConnections === undefined ? {} : { maxConnections }),
    });
  }
  // Stable: equal ranks keep document order.
  urls.sort((a, b) => (a.priority ?? Infinity) - (b.priority ?? Infinity));

  const metaurls: MetalinkMetaurl[] = doc.children(element, 'metaurl').map((m) => {
    const priority = count(doc.attribute(m, 'priority', 'a priority'));
    return {
      url: doc.text(m, `a metaurl of ${label}`),
      mediatype: doc.attribute(m, 'mediatype', 'a mediatype') ?? '',
      ...(priority === undefined ? {} : { priority }),
    };
  });
  const alternates: MetalinkAlternate[] = doc
    .children(element, 'alternates')
    .flatMap((a) => doc.children(a, 'alternate'))
    .map((a) => {
      const altSize = parseSize(doc, doc.children(a, 'size')[0], label, (m, at) =>
        fail('bad-size', m, at),
      );
      const stamp = doc.children(a, 'timestamp')[0];
      const timestamp = stamp === undefined ? undefined : seconds(doc.text(stamp, 'a timestamp'));
      return {
        ...(altSize === undefined ? {} : { size: altSize }),
        digests: parseDigests(doc, doc.children(a, 'verification'), (m, at) =>
          fail('bad-hash', m, at),
        ),
        ...(timestamp === undefined ? {} : { timestamp }),
      };
    });
  return {
    name: rawName,
    ...(size === undefined ? {} : { size }),
    digests,
    urls,
    metaurls,
    alternates,
  };
}

function parseSize(
  doc: XmlDocument,
  element: XmlElement | undefined,
  label: string,
  fail: (message: string, at: XmlElement) => MirrorListError,
): number | undefined {
  if (element === undefined) return undefined;
  const text = doc.text(element, `the size of ${label}`);
  const size = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(size)) {
    throw fail(
      `the size ${JSON.stringify(text.slice(0, 40))} is not a whole number of bytes`,
      element,
    );
  }
  return size;
}

function parseDigests(
  doc: XmlDocument,
  parents: readonly XmlElement[],
  fail: (message: string, at: XmlElement) => MirrorListError,
): Digests {
  const digests: Digests = {};
  for (const parent of parents) {
    for (const hash of doc.children(parent, 'hash')) {
      const type = doc.attribute(hash, 'type', 'a hash type') ?? '';
      const algorithm: DigestAlgorithm | undefined = digestAlgorithmOf(type);
      if (algorithm === undefined) continue;
      const hex = doc.text(hash, `the ${type} hash`).toLowerCase();
      const length = DIGEST_HEX_LENGTHS[algorithm];
      if (hex.length !== length) {
        throw fail(
          `the ${type} hash has ${hex.length} hex characters, ${algorithm} needs ${length}`,
          hash,
        );
      }
      if (!/^[0-9a-f]+$/.test(hex)) throw fail(`the ${type} hash is not hexadecimal`, hash);
      const earlier = digests[algorithm];
      if (earlier !== undefined && earlier !== hex) {
        throw fail(`two different ${algorithm} hashes are given`, hash);
      }
      digests[algorithm] = hex;
    }
  }
  return digests;
}

function count(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,9}$/.test(text)) return undefined;
  return Number(text);
}

function seconds(text: string): number | undefined {
  return /^[0-9]{1,12}$/.test(text) ? Number(text) : undefined;
}

/** Metalink 3 preference (higher first, 1-100) as a rank (lower first). */
function preferenceRank(text: string | undefined): number | undefined {
  const preference = count(text);
  return preference === undefined ? undefined : 101 - Math.min(100, preference);
}
