import { describe, expect, it } from 'vitest';
import { MirrorListError, parseMirrorList } from './index.js';

describe('parseMirrorList', () => {
  it('refuses a plain-text error page instead of taking its markup for relative mirrors', () => {
    let error: unknown;
    try {
      parseMirrorList('Service temporarily unavailable\n</body></html>\n', {
        source: 'http://h/list',
        documentUrl: new URL('http://h/docs/list'),
      });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ problem: 'no-mirrors', line: 1 });
  });

  it('reads one base per line, skipping comments, blank lines and duplicates; bases end with /', () => {
    const list = parseMirrorList(
      [
        '# repo = fedora-40 arch = x86_64 country = DE',
        '',
        'http://127.0.0.1:1/pub/fedora/linux/releases/40/Everything/x86_64/os',
        '  ftp://127.0.0.1:2/fedora/os/  ',
        'http://127.0.0.1:1/pub/fedora/linux/releases/40/Everything/x86_64/os/',
        '\r',
        'sftp://127.0.0.1:3/srv/fedora/',
      ].join('\r\n'),
    );
    expect(list.bases.map((u) => u.href)).toEqual([
      'http://127.0.0.1:1/pub/fedora/linux/releases/40/Everything/x86_64/os/',
      'ftp://127.0.0.1:2/fedora/os/',
      'sftp://127.0.0.1:3/srv/fedora/',
    ]);
  });

  it('treats entries as untrusted: file: and other schemes dropped with a reason, credentials removed, relative lines resolved', () => {
    const list = parseMirrorList(
      [
        'file:///etc/',
        'gopher://127.0.0.1/x',
        'http://u:pw@127.0.0.1:1/a/',
        'mirrors/b/',
        'not a url',
      ].join('\n'),
      { documentUrl: new URL('http://lister:secret@127.0.0.1:9/list/mirrorlist') },
    );
    expect(list.bases.map((u) => u.href)).toEqual([
      'http://127.0.0.1:1/a/',
      'http://127.0.0.1:9/list/mirrors/b/',
    ]);
    expect(list.skipped.map((s) => [s.line, s.reason])).toEqual([
      [1, expect.stringContaining('file: scheme is not allowed')],
      [2, expect.stringContaining('gopher: scheme is not allowed')],
      [5, 'it contains white space'],
    ]);
    expect(JSON.stringify(list)).not.toMatch(/secret|pw@/);
  });

  it('refuses a list with no usable entry, naming the first problem and its line', () => {
    let caught: unknown;
    try {
      parseMirrorList('\n<html>\n<body>Service Unavailable</body>\n', {
        source: 'http://127.0.0.1:9/ml',
      });
    } catch (error) {
      caught = error;
    }
    expect(MirrorListError.isInstance(caught)).toBe(true);
    const error = caught as MirrorListError;
    expect(error.problem).toBe('no-mirrors');
    expect(error.line).toBe(2);
    expect(error.message).toContain('http://127.0.0.1:9/ml');
  });

  it('refuses a list over the size limit', () => {
    expect(() =>
      parseMirrorList('http://127.0.0.1/a/\n'.repeat(100), { maxDocumentBytes: 100 }),
    ).toThrow(/larger than 100 bytes/);
  });
});
