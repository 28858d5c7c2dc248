import { describe, expect, it } from 'vitest';
import { algorithmOfName, parseChecksums } from './parse-checksums.js';

const A = 'a'.repeat(64);
const B = 'B'.repeat(128);
const lines = (text: string, name?: string) => [...parseChecksums(text, name).lines];

describe('parseChecksums', () => {
  it('reads GNU text and binary lines, BSD lines, escapes, and skips blanks and comments', () => {
    const text = [
      `${A}  a.iso`,
      `${B} *sub/b.bin`,
      '',
      '# a comment',
      `SHA256 (c d.txt) = ${A}`,
      `MD5 (e(1).txt) = ${'0'.repeat(32)}`,
      `\\${A}  new\\nline\\\\x`,
      `\\SHA1 (tab\\\\) = ${'f'.repeat(40)}`,
      `${A}  spaces at end  \r`,
    ].join('\n');
    expect(lines(text)).toEqual([
      { line: 1, name: 'a.iso', algorithm: 'sha256', hex: A },
      { line: 2, name: 'sub/b.bin', algorithm: 'sha512', hex: 'b'.repeat(128) },
      { line: 5, name: 'c d.txt', algorithm: 'sha256', hex: A },
      { line: 6, name: 'e(1).txt', algorithm: 'md5', hex: '0'.repeat(32) },
      { line: 7, name: 'new\nline\\x', algorithm: 'sha256', hex: A },
      { line: 8, name: 'tab\\', algorithm: 'sha1', hex: 'f'.repeat(40) },
      { line: 9, name: 'spaces at end  ', algorithm: 'sha256', hex: A },
    ]);
  });

  it('names every bad line with its number and why', () => {
    const text = [
      `${A}  ../evil`,
      `${A}  /etc/passwd`,
      `${A}  a\0b`,
      `${A.slice(1)}  short`,
      'hello world',
      `BLAKE2b (x) = ${A}`,
      `SHA256 (x) = ${A}0`,
      `\\${A}  bad\\escape`,
      `${A}  sub/../../x`,
      `${A}  C:\\x`,
      `${A}  ./`,
    ].join('\n');
    const reasons = lines(text).map((l) => [l.line, l.reason]);
    expect(reasons).toEqual([
      [1, expect.stringContaining('contains ".."')],
      [2, expect.stringContaining('is absolute')],
      [3, expect.stringContaining('NUL')],
      [4, expect.stringContaining('63 hex characters fits no known algorithm')],
      [5, expect.stringContaining('not a checksum line')],
      [6, expect.stringContaining('unknown digest algorithm "BLAKE2b"')],
      [7, 'the sha256 digest must be 64 hex characters'],
      [8, expect.stringContaining('bad escape')],
      [9, expect.stringContaining('contains ".."')],
      [10, expect.stringContaining('is absolute')],
      [11, expect.stringContaining('names no file')],
    ]);
    expect(lines(`${A}  ../evil`)[0]).toMatchObject({ name: '../evil' });
  });

  it("takes the algorithm from the list's name and a bare digest as the one file's", () => {
    expect(algorithmOfName('SHA512SUMS')).toEqual({ algorithm: 'sha512' });
    expect(algorithmOfName('https://h/x/sha1sum.txt')).toEqual({ algorithm: 'sha1' });
    expect(algorithmOfName('os.iso.sha256')).toEqual({ algorithm: 'sha256', file: 'os.iso' });
    expect(algorithmOfName('CHECKSUMS')).toEqual({});
    expect(lines(`${A}  x`, 'SHA512SUMS')[0]).toMatchObject({
      line: 1,
      reason: 'the sha512 digest must be 128 hex characters',
    });
    expect(lines(`${A}\n`, 'dir/os.iso.sha256')).toEqual([
      { line: 1, name: 'os.iso', algorithm: 'sha256', hex: A },
    ]);
    expect(lines(A)[0]).toMatchObject({ reason: expect.stringContaining('not a checksum line') });
  });

  it('reads the signed text of a PGP clear-signed list, numbering lines in the whole file', () => {
    const text = [
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA256',
      '',
      `${A}  a.iso`,
      `- ${A}  -dash.iso`,
      `SHA256 (b.iso) = ${A}`,
      '-----BEGIN PGP SIGNATURE-----',
      '',
      'iQIzBAEBCAAdFiEE…',
      `${A}  not-signed.iso`,
      '-----END PGP SIGNATURE-----',
      '',
    ].join('\r\n');
    const list = parseChecksums(text);
    expect(list.signed).toBe(true);
    expect([...list.lines]).toEqual([
      { line: 4, name: 'a.iso', algorithm: 'sha256', hex: A },
      { line: 5, name: '-dash.iso', algorithm: 'sha256', hex: A },
      { line: 6, name: 'b.iso', algorithm: 'sha256', hex: A },
    ]);
    expect(parseChecksums(`${A}  a`).signed).toBe(false);
    expect(() => parseChecksums('-----BEGIN PGP SIGNED MESSAGE-----\n\nx\n')).toThrow(
      /without "-----BEGIN PGP SIGNATURE-----"/,
    );
  });
});
