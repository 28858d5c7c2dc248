import { asBase, entryUrl, rejected, type RejectedEntry } from './entry-url.js';
import { DEFAULT_ALLOWED_SCHEMES, DEFAULT_MAX_DOCUMENT_BYTES } from './metalink.js';
import { MirrorListError } from './mirrorlist-error.js';

/** A plain mirror list: base URLs in the document's order. */
export interface MirrorList {
  /** Base URLs (each path ends with `/`), first listed first. */
  readonly bases: readonly URL[];
  /** Lines that were dropped (not a URL, scheme not allowed), with the reason. */
  readonly skipped: readonly RejectedEntry[];
}

/** Options of {@link parseMirrorList}. */
export interface ParseMirrorListOptions {
  /** Names the document in errors. @default 'mirror list' */
  readonly source?: string;
  /** Where the document was fetched: relative lines resolve against it. */
  readonly documentUrl?: URL;
  /** Schemes accepted. @default ['http', 'https', 'ftp', 'ftps', 'sftp'] */
  readonly allowedSchemes?: readonly string[];
  /** Largest document accepted, in bytes. @default 4194304 */
  readonly maxDocumentBytes?: number;
}

/**
 * Parses a plain mirror list (the yum/Fedora `mirrorlist` format): one base
 * URL per line, `#` comments and blank lines ignored. Lines that are not
 * URLs of an allowed scheme are skipped; a list with no usable line at all
 * (an HTML error page, say) is a {@link MirrorListError} naming line 1's
 * problem.
 */
export function parseMirrorList(text: string, options: ParseMirrorListOptions = {}): MirrorList {
  const source = options.source ?? 'mirror list';
  const maxBytes = options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new MirrorListError(`The mirror list is larger than ${maxBytes} bytes`, {
      problem: 'too-large',
      source,
    });
  }
  const policy = {
    allowedSchemes: new Set(
      (options.allowedSchemes ?? DEFAULT_ALLOWED_SCHEMES).map((s) =>
        s.toLowerCase().replace(/:$/, ''),
      ),
    ),
    trusted: false,
    ...(options.documentUrl === undefined ? {} : { documentUrl: options.documentUrl }),
  };
  const bases: URL[] = [];
  const seen = new Set<string>();
  const skipped: RejectedEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/^\uFEFF/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const url = /\s/.test(line) ? 'it contains white space' : entryUrl(line, policy);
    if (typeof url === 'string') {
      skipped.push(rejected(line, url, index + 1));
      return;
    }
    const base = asBase(url);
    if (seen.has(base.href)) return;
    seen.add(base.href);
    bases.push(base);
  });
  if (bases.length === 0) {
    const first = skipped[0];
    throw new MirrorListError(
      first === undefined
        ? 'The mirror list has no entries'
        : `The mirror list has no usable entry; the first was refused: ${first.reason}`,
      { problem: 'no-mirrors', source, ...(first?.line === undefined ? {} : { line: first.line }) },
    );
  }
  return { bases, skipped };
}
