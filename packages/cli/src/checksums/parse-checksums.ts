import { DIGEST_HEX_LENGTHS, type DigestAlgorithm } from '@dl/core';

/** One line of a checksum list: a file and its digest, or why the line cannot be used. */
export type ChecksumLine =
  | {
      /** Line number in the list, from 1 (in the whole file, PGP armour included). */
      readonly line: number;
      /** The file's name, relative to the list's folder, unescaped. */
      readonly name: string;
      readonly algorithm: DigestAlgorithm;
      /** Lowercase hex. */
      readonly hex: string;
      readonly reason?: undefined;
    }
  | {
      readonly line: number;
      readonly reason: string;
      /** The name, when the line got far enough to have one. */
      readonly name?: string;
    };

/** What is known about a checksum list besides its lines. */
export interface ChecksumList {
  /** The text was a PGP clear-signed message (the signature is not verified). */
  readonly signed: boolean;
  /** Its lines, lazily. */
  readonly lines: Iterable<ChecksumLine>;
}

/**
 * Parses a checksum list as `sha256sum` and friends write it, and as their
 * `-c` reads it:
 *
 * - GNU: `HEX  NAME` (text) or `HEX *NAME` (binary); a line starting with
 *   `\` has a name with `\\`, `\n` and `\r` escapes;
 * - BSD (`--tag`, OpenBSD `sha256`): `SHA256 (NAME) = HEX`, also MD5, SHA1,
 *   SHA224, SHA384, SHA512;
 * - a PGP clear-signed message (`SHA256SUMS.asc`, Debian `InRelease`-style):
 *   only the signed text is read, dash-escapes undone; the signature is NOT
 *   verified;
 * - blank lines and `#` comments are passed over.
 *
 * A GNU line's algorithm comes from `fileName` when it names one
 * (`SHA256SUMS`, `sha512sum.txt`, `x.iso.sha256`: then a digest of another
 * length is a bad line), else from the digest's length (32 md5, 40 sha1,
 * 56 sha224, 64 sha256, 96 sha384, 128 sha512). In a list named after one
 * file (`x.iso.sha256`), a line holding only a digest is that file's.
 *
 * Names that could leave the folder (absolute, `..`, NUL) are bad lines
 * here already. The text is taken whole (these lists are small; the caller
 * bounds its size) and its lines are parsed as they are iterated. Throws
 * only for a clear-signed message without its signature block.
 */
export function parseChecksums(text: string, fileName?: string): ChecksumList {
  const rows = text.split('\n');
  let first = 0;
  while (first < rows.length && rows[first]!.trim() === '') first++;
  const signed = rows[first]?.trim() === BEGIN_SIGNED;
  let start = 0;
  let end = rows.length;
  if (signed) {
    // Armour headers (`Hash: SHA256`) up to the first blank line, then the signed text.
    start = first + 1;
    while (start < rows.length && stripCr(rows[start]!).trim() !== '') start++;
    start++;
    end = rows.findIndex((row, i) => i >= start && stripCr(row).trim() === BEGIN_SIGNATURE);
    if (end === -1) {
      throw new Error(`a PGP signed message without "${BEGIN_SIGNATURE}"`);
    }
  }
  const hint = algorithmOfName(fileName);
  return {
    signed,
    lines: {
      *[Symbol.iterator]() {
        for (let i = start; i < end; i++) {
          let row = stripCr(rows[i]!);
          if (signed && row.startsWith('- ')) row = row.slice(2);
          const parsed = parseChecksumLine(row, i + 1, hint);
          if (parsed !== undefined) yield parsed;
        }
      },
    },
  };
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';

/** What a list's file name says: the algorithm of its lines, and for `x.iso.sha256` the one file. */
export interface NameHint {
  readonly algorithm?: DigestAlgorithm;
  readonly file?: string;
}

const ALGORITHMS = ['sha224', 'sha256', 'sha384', 'sha512', 'sha1', 'md5'] as const;

/** The algorithm a list's file name names (`SHA256SUMS`, `sha512sum.txt`, `a.iso.sha256`), if any. */
export function algorithmOfName(fileName: string | undefined): NameHint {
  if (fileName === undefined) return {};
  const base = fileName.slice(fileName.lastIndexOf('/') + 1).toLowerCase();
  const algorithm = ALGORITHMS.find((name) => base.includes(name));
  if (algorithm === undefined) return {};
  const single = new RegExp(`^(.+)\\.${algorithm}(?:sum)?$`, 'i').exec(
    fileName.slice(fileName.lastIndexOf('/') + 1),
  );
  return single === null ? { algorithm } : { algorithm, file: single[1]! };
}

const GNU = /^([0-9A-Fa-f]+) ([ *]?)(.*)$/;
const BSD = /^([A-Za-z0-9]+) ?\((.*)\) ?= ?([0-9A-Fa-f]*)$/;
const HEX_ONLY = /^[0-9A-Fa-f]+$/;
const BSD_NAMES: Readonly<Record<string, DigestAlgorithm>> = {
  MD5: 'md5',
  SHA1: 'sha1',
  SHA224: 'sha224',
  SHA256: 'sha256',
  SHA384: 'sha384',
  SHA512: 'sha512',
};
const BY_LENGTH = new Map<number, DigestAlgorithm>(
  Object.entries(DIGEST_HEX_LENGTHS).map(([algorithm, length]) => [
    length,
    algorithm as DigestAlgorithm,
  ]),
);

/**
 * One line of a checksum list (without its line end): the entry, a bad
 * line, or undefined for a blank line or a comment.
 */
export function parseChecksumLine(
  row: string,
  line: number,
  hint: NameHint = {},
): ChecksumLine | undefined {
  if (row.trim() === '' || row.trimStart().startsWith('#')) return undefined;
  const escaped = row.startsWith('\\');
  const body = escaped ? row.slice(1) : row;
  const bad = (reason: string, name?: string): ChecksumLine =>
    name === undefined ? { line, reason } : { line, reason, name };

  const bsd = BSD.exec(body);
  if (bsd !== null && BSD_NAMES[bsd[1]!.toUpperCase()] !== undefined) {
    const algorithm = BSD_NAMES[bsd[1]!.toUpperCase()]!;
    return entry(line, algorithm, bsd[3]!, bsd[2]!, escaped, bad);
  }
  if (bsd !== null && !HEX_ONLY.test(bsd[1]!)) {
    return bad(
      `unknown digest algorithm "${bsd[1]}" (known: ${Object.keys(BSD_NAMES).join(', ')})`,
    );
  }
  if (HEX_ONLY.test(body.trimEnd()) && hint.file !== undefined) {
    const hex = body.trimEnd();
    return entry(line, algorithmOf(hex, hint), hex, hint.file, false, bad);
  }
  const gnu = GNU.exec(body);
  if (gnu === null || gnu[3] === '') {
    return bad('not a checksum line (expected "HEX  NAME", "HEX *NAME" or "SHA256 (NAME) = HEX")');
  }
  const hex = gnu[1]!;
  const algorithm = algorithmOf(hex, hint);
  if (algorithm === undefined) {
    return bad(
      `a digest of ${hex.length} hex characters fits no known algorithm ` +
        '(32 md5, 40 sha1, 56 sha224, 64 sha256, 96 sha384, 128 sha512)',
    );
  }
  return entry(line, algorithm, hex, gnu[3]!, escaped, bad);
}

function algorithmOf(hex: string, hint: NameHint): DigestAlgorithm | undefined {
  return hint.algorithm ?? BY_LENGTH.get(hex.length);
}

function entry(
  line: number,
  algorithm: DigestAlgorithm | undefined,
  hex: string,
  rawName: string,
  escaped: boolean,
  bad: (reason: string, name?: string) => ChecksumLine,
): ChecksumLine {
  const name = escaped ? unescape(rawName) : rawName;
  if (name === undefined) return bad('a bad escape in the name (only \\\\, \\n and \\r are known)');
  if (algorithm === undefined) return bad('no digest algorithm', name);
  const length = DIGEST_HEX_LENGTHS[algorithm];
  if (hex.length !== length || !HEX_ONLY.test(hex)) {
    return bad(`the ${algorithm} digest must be ${length} hex characters`, name);
  }
  const hostile = hostileName(name);
  if (hostile !== undefined) return bad(hostile, name);
  return { line, name, algorithm, hex: hex.toLowerCase() };
}

/** Undoes the escapes of a name whose line starts with `\`; undefined for an unknown escape. */
function unescape(name: string): string | undefined {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = name[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else return undefined;
  }
  return out;
}

/**
 * Why a listed name could leave the folder it is relative to (as a
 * manifest's `path` is checked), or undefined when it is a plain relative
 * name. The destination is checked again where it is joined.
 */
export function hostileName(name: string): string | undefined {
  const shown = `name "${printable(name)}"`;
  if (name.includes('\0')) return `${shown} contains a NUL byte`;
  if (/^[\\/]/.test(name) || /^[A-Za-z]:/.test(name)) {
    return `${shown} is absolute; names must be relative to the list's folder`;
  }
  const segments = name.split(/[\\/]/);
  if (segments.includes('..')) return `${shown} contains "..", which could leave the folder`;
  if (segments.every((s) => s === '' || s === '.')) return `${shown} names no file`;
  return undefined;
}

function printable(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : char;
  }
  return out;
}

function stripCr(row: string): string {
  return row.endsWith('\r') ? row.slice(0, -1) : row;
}
