import { describe, expect, it } from 'vitest';
import { MirrorListError, parseMetalink, type MirrorListProblem } from './index.js';
import { hashes, metalink3, metalink4 } from './test-support/documents.js';

const data = Buffer.from('hello metalink\n');
const h = hashes(data);

function refused(text: string, problem: MirrorListProblem): MirrorListError {
  let caught: unknown;
  try {
    parseMetalink(text, { source: 'test.meta4' });
  } catch (error) {
    caught = error;
  }
  expect(MirrorListError.isInstance(caught), String(caught)).toBe(true);
  const error = caught as MirrorListError;
  expect(error.code).toBe('mirrorlist-invalid');
  expect(error.retryable).toBe(false);
  expect(error.problem).toBe(problem);
  expect(error.message).toContain('test.meta4');
  return error;
}

describe('parseMetalink: Metalink 4', () => {
  it('reads files, sizes, every known hash, URLs by priority with locations, and skips unknown hash types', () => {
    const text = metalink4([
      {
        name: 'dir/hello.txt',
        size: data.length,
        hashes: { 'sha-256': h.sha256, 'sha-1': h.sha1, md5: h.md5, 'sha3-256': 'ab'.repeat(32) },
        urls: [
          { url: 'http://127.0.0.1:1/b/dir/hello.txt', rank: 2, location: 'DE' },
          { url: 'ftp://127.0.0.1:2/a/dir/hello.txt?x=1&y=2', rank: 1 },
          { url: 'https://127.0.0.1:3/c/dir/hello.txt' },
        ],
      },
    ]);
    const parsed = parseMetalink(text);
    expect(parsed.version).toBe(4);
    expect(parsed.files).toHaveLength(1);
    const file = parsed.files[0]!;
    expect(file.name).toBe('dir/hello.txt');
    expect(file.size).toBe(data.length);
    expect(file.digests).toEqual({ sha256: h.sha256, sha1: h.sha1, md5: h.md5 });
    expect(file.urls.map((u) => u.url.href)).toEqual([
      'ftp://127.0.0.1:2/a/dir/hello.txt?x=1&y=2',
      'http://127.0.0.1:1/b/dir/hello.txt',
      'https://127.0.0.1:3/c/dir/hello.txt',
    ]);
    expect(file.urls[1]!.location).toBe('de');
    expect(file.metaurls).toEqual([
      { url: 'http://127.0.0.1:9/x.torrent', mediatype: 'torrent', priority: 9 },
    ]);
  });

  it('drops URLs of schemes not allowed (file:, javascript:) and strips credentials from remote entries', () => {
    const parsed = parseMetalink(
      metalink4([
        {
          name: 'a',
          urls: [
            { url: 'file:///etc/passwd', rank: 1 },
            { url: 'javascript:alert(1)', rank: 2 },
            { url: 'mirror://loop/a', rank: 3 },
            { url: 'http://user:secret@127.0.0.1:1/a', rank: 4 },
          ],
        },
      ]),
    );
    expect(parsed.files[0]!.urls.map((u) => u.url.href)).toEqual(['http://127.0.0.1:1/a']);
    expect(parsed.skipped.map((s) => s.reason)).toEqual([
      expect.stringContaining('file: scheme is not allowed'),
      expect.stringContaining('javascript: scheme is not allowed'),
      expect.stringContaining('mirror:'),
    ]);
    expect(parsed.skipped[0]!.line).toBeGreaterThan(1);
    expect(JSON.stringify(parsed)).not.toContain('secret');
  });

  it('accepts file: when the caller allows it', () => {
    const parsed = parseMetalink(metalink4([{ name: 'a', urls: [{ url: 'file:///srv/a' }] }]), {
      allowedSchemes: ['file'],
    });
    expect(parsed.files[0]!.urls[0]!.url.protocol).toBe('file:');
  });
});

describe('parseMetalink: Metalink 3 (MirrorManager)', () => {
  it('reads verification hashes, preference (higher first), maxconnections and mm0:alternates', () => {
    const old = Buffer.from('older');
    const text = metalink3(
      [
        {
          name: 'repomd.xml',
          size: data.length,
          hashes: { md5: h.md5, sha1: h.sha1, sha256: h.sha256, sha512: h.sha512 },
          urls: [
            { url: 'http://127.0.0.1:1/pub/repodata/repomd.xml', rank: 50 },
            { url: 'https://127.0.0.1:2/fedora/repodata/repomd.xml', rank: 0 },
            { url: 'rsync://127.0.0.1:3/fedora/repodata/repomd.xml', rank: 1 },
          ],
        },
      ],
      { size: old.length, sha256: hashes(old).sha256 },
    );
    const parsed = parseMetalink(text);
    expect(parsed.version).toBe(3);
    const file = parsed.files[0]!;
    expect(file.digests).toEqual({ md5: h.md5, sha1: h.sha1, sha256: h.sha256, sha512: h.sha512 });
    expect(file.urls.map((u) => [u.url.href, u.priority, u.maxConnections])).toEqual([
      ['https://127.0.0.1:2/fedora/repodata/repomd.xml', 1, 1],
      ['http://127.0.0.1:1/pub/repodata/repomd.xml', 51, 1],
    ]);
    expect(parsed.skipped[0]!.reason).toContain('rsync: scheme is not allowed');
    expect(file.alternates).toEqual([
      { size: old.length, digests: { sha256: hashes(old).sha256 }, timestamp: 1690000000 },
    ]);
  });
});

describe('parseMetalink: malformed and hostile documents', () => {
  it('refuses bad XML with the line and column', () => {
    const text = metalink4([{ name: 'a', urls: [{ url: 'http://127.0.0.1:1/a' }] }]).replace(
      '</file>',
      '</fil>',
    );
    const error = refused(text, 'xml-syntax');
    expect(error.line).toBeGreaterThan(5);
    expect(error.message).toMatch(/line \d+, column \d+/);
  });

  it('refuses an entity expansion attempt ("billion laughs") before parsing', () => {
    const text = `<?xml version="1.0"?>
<!DOCTYPE metalink [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="&lol3;"><url>http://127.0.0.1:1/a</url></file></metalink>`;
    const error = refused(text, 'dtd-forbidden');
    expect(error.line).toBe(2);
    expect(error.message).toContain('DOCTYPE');
  });

  it('refuses an external entity declaration even without a DOCTYPE keyword match elsewhere', () => {
    refused(
      `<?xml version="1.0"?>\n<metalink><!ENTITY x SYSTEM "file:///etc/passwd"></metalink>`,
      'dtd-forbidden',
    );
  });

  it('refuses references to undefined entities instead of keeping or expanding them', () => {
    const error = refused(
      metalink4([{ name: 'a', urls: [{ url: 'http://127.0.0.1:1/a' }] }]).replace(
        'http://127.0.0.1:1/a',
        'http://127.0.0.1:1/&xxe;',
      ),
      'xml-syntax',
    );
    expect(error.message).toContain('&xxe;');
  });

  it('refuses a hash of the wrong length, naming the file, the algorithm and the line', () => {
    const text = metalink4([
      { name: 'short.bin', hashes: { 'sha-256': h.sha256.slice(0, 60) }, urls: [] },
    ]);
    const error = refused(text, 'bad-hash');
    expect(error.message).toContain('"short.bin"');
    expect(error.message).toContain('60 hex characters, sha256 needs 64');
    const hashLine = text.split('\n').findIndex((l) => l.includes('<hash')) + 1;
    expect(error.line).toBe(hashLine);
  });

  it('refuses a hash that is not hexadecimal, and two different hashes of one algorithm', () => {
    refused(metalink4([{ name: 'a', hashes: { md5: 'z'.repeat(32) }, urls: [] }]), 'bad-hash');
    const twice = metalink4([{ name: 'a', hashes: { 'sha-1': h.sha1 }, urls: [] }]).replace(
      '</hash>',
      `</hash><hash type="sha1">${'0'.repeat(40)}</hash>`,
    );
    expect(refused(twice, 'bad-hash').message).toContain('two different sha1');
  });

  it('refuses a size that is not a whole number', () => {
    const text = metalink4([{ name: 'a', size: 5, urls: [] }]).replace('<size>5', '<size>-5');
    expect(refused(text, 'bad-size').message).toContain('"-5"');
  });

  it.each([
    ['../../etc/passwd', '".." segment'],
    ['a/../../b', '".." segment'],
    ['/etc/passwd', 'absolute path'],
    ['C:evil.exe', 'drive letter'],
    ['c:/windows/x', 'drive letter'],
    ['a\\..\\b', 'backslash'],
    ['a&#0;b', 'xml'],
    ['a&#10;b', 'control character'],
    ['./a', '"." segment'],
    ['a//b', 'empty segment'],
  ])('refuses the traversal file name %j', (name, why) => {
    const text = metalink4([{ name: 'placeholder', urls: [] }]).replace(
      'name="placeholder"',
      `name="${name}"`,
    );
    if (why === 'xml') {
      // A NUL cannot even be written in XML: the reference itself is refused.
      refused(text, 'xml-syntax');
      return;
    }
    const error = refused(text, 'unsafe-name');
    expect(error.message).toContain(why);
    expect(error.message).toContain('file #1');
  });

  it('refuses a document that is not a metalink, a file described twice, and a document over the size limit', () => {
    refused('<?xml version="1.0"?><html><body>502</body></html>', 'not-metalink');
    const twice = metalink4([
      { name: 'a', urls: [] },
      { name: 'a', urls: [] },
    ]);
    expect(refused(twice, 'unsafe-name').message).toContain('twice');
    const big = metalink4([{ name: 'a', urls: [] }], `<!-- ${'x'.repeat(5000)} -->\n`);
    let caught: unknown;
    try {
      parseMetalink(big, { source: 'big', maxDocumentBytes: 4096 });
    } catch (error) {
      caught = error;
    }
    expect((caught as MirrorListError).problem).toBe('too-large');
  });

  it('refuses absurd nesting depth', () => {
    const deep = `<metalink>${'<a>'.repeat(200)}${'</a>'.repeat(200)}</metalink>`;
    refused(deep, 'too-large');
  });
});
