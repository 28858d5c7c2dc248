import { resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { redactText, redactUrl, type DownloaderFactory } from '@dl/core';
import { UsageError } from '../exit-codes.js';
import type { ManifestLine } from '../manifest/read-manifest.js';
import type { WarningRecord } from '../output/warning-record.js';
import { parseChecksums } from './parse-checksums.js';

/** Largest checksum list read, in bytes: it is read whole. */
const MAX_LIST_BYTES = 16 * 1024 * 1024;

/** What `--checksums` asks for: its lines as manifest lines, and whether they are only checked. */
export interface ChecksumEntries {
  /** True: check the files under `-o` (nothing is downloaded); false: download them from the base. */
  readonly check: boolean;
  /** One per line that names a file: an entry (`url`, `path`, `digests`) or a bad line. */
  readonly items: readonly ManifestLine[];
}

/**
 * Reads the list `--checksums SPEC` names (a URL, or a local file) through
 * the factory, whole (bounded to 16 MiB), and turns each of its lines into
 * a manifest line. Downloads come from `--from BASE`, or when the list is
 * remote and `--from` is not given, from the list's own folder; a local
 * list without `--from` means: check the files under `outDir`.
 * Throws {@link UsageError} for an unreadable list or a bad `--from`.
 */
export async function checksumEntries(
  spec: string,
  from: string | undefined,
  context: {
    readonly cwd: string;
    readonly outDir: string;
    readonly factory: DownloaderFactory;
    readonly signal: AbortSignal;
    readonly warn: (record: WarningRecord) => void;
  },
): Promise<ChecksumEntries> {
  const { cwd, outDir, factory, signal } = context;
  const source = urlOrPath(spec, cwd, false);
  if (!factory.supports(source)) {
    throw new UsageError(
      `--checksums ${redactUrl(source)}: no adapter serves "${source.protocol}"`,
    );
  }
  let base: URL | undefined;
  if (from !== undefined) {
    base = urlOrPath(from, cwd, true);
    if (!factory.supports(base)) {
      throw new UsageError(`--from ${redactUrl(base)}: no adapter serves "${base.protocol}"`);
    }
  } else if (source.protocol !== 'file:') {
    base = new URL('.', source);
  }
  let text: string;
  try {
    text = await readWhole(source, factory, signal);
  } catch (error) {
    if (signal.aborted) throw error;
    throw new UsageError(
      `--checksums ${redactUrl(source)}: ${redactText((error as Error).message ?? String(error))}`,
    );
  }
  let list;
  try {
    list = parseChecksums(text, decodeURIComponent(source.pathname));
  } catch (error) {
    throw new UsageError(`--checksums ${redactUrl(source)}: ${(error as Error).message}`);
  }
  if (list.signed) {
    context.warn({
      code: 'signature-not-verified',
      message: `${redactUrl(source)} is PGP-signed; its signature was NOT verified (check it with gpg --verify)`,
      list: redactUrl(source),
    });
  }
  const check = base === undefined;
  const root = base ?? pathToFileURL(outDir.endsWith(sep) ? outDir : outDir + sep);
  const items: ManifestLine[] = [];
  for (const parsed of list.lines) {
    if (parsed.reason !== undefined) {
      items.push({
        line: parsed.line,
        reason: parsed.reason,
        ...(parsed.name === undefined ? {} : { path: parsed.name }),
      });
      continue;
    }
    const { line, name } = parsed;
    const url = new URL(name.split(/\//).map(encodeURIComponent).join('/'), root);
    // The name was checked already; this keeps the URL under the base whatever it holds.
    if (!url.href.startsWith(root.href)) {
      items.push({ line, reason: `name "${name}" leaves the base URL`, path: name });
      continue;
    }
    items.push({ line, entry: { url, path: name, digests: { [parsed.algorithm]: parsed.hex } } });
  }
  return { check, items };
}

/** An absolute URL as given, or a local path as a `file:` URL (a folder's ending in `/`). */
function urlOrPath(spec: string, cwd: string, folder: boolean): URL {
  // A one-letter scheme is a Windows drive, not a URL.
  const url = /^[a-z][a-z0-9+.-]+:/i.test(spec) && URL.canParse(spec) ? new URL(spec) : undefined;
  const out = url ?? pathToFileURL(resolve(cwd, spec));
  if (folder && !out.pathname.endsWith('/')) out.pathname += '/';
  return out;
}

async function readWhole(
  source: URL,
  factory: DownloaderFactory,
  signal: AbortSignal,
): Promise<string> {
  const opened = await factory.open({ url: source }, { signal });
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of opened.body) {
    bytes += chunk.byteLength;
    if (bytes > MAX_LIST_BYTES) {
      opened.abort();
      throw new Error(`the list is larger than ${MAX_LIST_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
