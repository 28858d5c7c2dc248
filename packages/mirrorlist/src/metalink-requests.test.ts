import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { metalinkRequests, parseMetalink, type Metalink } from './index.js';
import { hashes, metalink4 } from './test-support/documents.js';

describe('metalinkRequests', () => {
  const data = Buffer.from('x');
  const h = hashes(data);
  const parsed = parseMetalink(
    metalink4([
      {
        name: 'Packages/a b.rpm',
        size: 1,
        hashes: { 'sha-256': h.sha256, md5: h.md5 },
        urls: [{ url: 'http://127.0.0.1:1/p/Packages/a%20b.rpm' }],
      },
      { name: 'repodata/repomd.xml', urls: [{ url: 'ftp://127.0.0.1:2/r/repodata/repomd.xml' }] },
    ]),
  );

  it('makes one request per file with size, every hash and a destination inside the folder', () => {
    const requests = metalinkRequests(parsed, { directory: '/srv/out', set: 'fedora' });
    expect(requests.map((r) => [r.url, r.destination, r.size, r.digests])).toEqual([
      [
        'mirror://fedora/Packages/a%20b.rpm',
        resolve('/srv/out', 'Packages', 'a b.rpm'),
        1,
        { sha256: h.sha256, md5: h.md5 },
      ],
      [
        'mirror://fedora/repodata/repomd.xml',
        join(resolve('/srv/out'), 'repodata', 'repomd.xml'),
        undefined,
        undefined,
      ],
    ]);
    expect(requests[0]!.context).toBe(parsed.files[0]);
  });

  it("uses each file's best URL without a set", () => {
    const requests = metalinkRequests(parsed, { directory: 'out', context: (f) => f.name });
    expect(requests.map((r) => [r.url, r.context])).toEqual([
      ['http://127.0.0.1:1/p/Packages/a%20b.rpm', 'Packages/a b.rpm'],
      ['ftp://127.0.0.1:2/r/repodata/repomd.xml', 'repodata/repomd.xml'],
    ]);
  });

  it.each(['../escape', '/abs', 'a/../../b', 'C:x', 'nul\u0000'])(
    'refuses a hand-made metalink whose name %j would leave the folder',
    (name) => {
      const forged: Metalink = { version: 4, skipped: [], files: [{ ...parsed.files[0]!, name }] };
      expect(() => metalinkRequests(forged, { directory: '/srv/out' })).toThrow(/would leave/);
    },
  );
});
