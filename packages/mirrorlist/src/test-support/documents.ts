import { createHash } from 'node:crypto';

/** Hex digests of `data` as a metalink lists them. */
export function hashes(data: Uint8Array): {
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
} {
  const hex = (algorithm: string) => createHash(algorithm).update(data).digest('hex');
  return { md5: hex('md5'), sha1: hex('sha1'), sha256: hex('sha256'), sha512: hex('sha512') };
}

/** One file of a test metalink. */
export interface TestFile {
  readonly name: string;
  readonly size?: number;
  readonly hashes?: Readonly<Record<string, string>>;
  readonly urls: readonly { url: string; rank?: number; location?: string }[];
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** A Metalink 4 (RFC 5854) document; `rank` is written as `priority` (lower first). */
export function metalink4(files: readonly TestFile[], extra = ''): string {
  const body = files
    .map(
      (f) => `  <file name="${escape(f.name)}">
${f.size === undefined ? '' : `    <size>${f.size}</size>\n`}${Object.entries(f.hashes ?? {})
        .map(([type, hex]) => `    <hash type="${type}">${hex}</hash>\n`)
        .join('')}${f.urls
        .map(
          (u) =>
            `    <url${u.rank === undefined ? '' : ` priority="${u.rank}"`}${u.location ? ` location="${u.location}"` : ''}>${escape(u.url)}</url>\n`,
        )
        .join(
          '',
        )}    <metaurl mediatype="torrent" priority="9">http://127.0.0.1:9/x.torrent</metaurl>
  </file>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<metalink xmlns="urn:ietf:params:xml:ns:metalink">
  <generator>dl-tests</generator>
  <published>2024-01-01T00:00:00Z</published>
${extra}${body}
</metalink>
`;
}

/**
 * A Metalink 3 document shaped like MirrorManager's: `mm0` namespace,
 * `verification`, `resources` with `preference` (higher first, from `rank`
 * as 100 - rank) and `mm0:alternates`.
 */
export function metalink3(
  files: readonly TestFile[],
  alternate?: { size: number; sha256: string },
): string {
  const body = files
    .map(
      (f) => `   <file name="${escape(f.name)}">
    <mm0:timestamp>1700000000</mm0:timestamp>
${f.size === undefined ? '' : `    <size>${f.size}</size>\n`}    <verification>
${Object.entries(f.hashes ?? {})
  .map(([type, hex]) => `     <hash type="${type}">${hex}</hash>\n`)
  .join('')}    </verification>
${
  alternate === undefined
    ? ''
    : `    <mm0:alternates>
     <mm0:alternate>
      <mm0:timestamp>1690000000</mm0:timestamp>
      <size>${alternate.size}</size>
      <verification><hash type="sha256">${alternate.sha256}</hash></verification>
     </mm0:alternate>
    </mm0:alternates>
`
}    <resources maxconnections="1">
${f.urls
  .map((u) => {
    const scheme = new URL(u.url).protocol.slice(0, -1);
    return `     <url protocol="${scheme}" type="${scheme}" location="${u.location ?? 'US'}" preference="${100 - (u.rank ?? 0)}">${escape(u.url)}</url>\n`;
  })
  .join('')}    </resources>
   </file>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="Mon, 01 Jan 2024 00:00:00 GMT" generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
${body}
 </files>
</metalink>
`;
}
