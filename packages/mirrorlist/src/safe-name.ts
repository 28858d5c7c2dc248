/**
 * Why a file name taken from a metalink would leave its destination folder,
 * or undefined when it stays inside. Names are relative paths with `/`
 * separators; anything absolute, any `..` or `.` segment, a drive letter, a
 * backslash, an empty segment or a control character (NUL included) is
 * refused rather than "fixed".
 */
export function unsafeNameReason(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > 4096) return 'it is longer than 4096 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'it contains a control character (NUL included)';
  if (name.includes('\\')) return 'it contains a backslash';
  if (name.startsWith('/')) return 'it is an absolute path';
  if (/^[a-zA-Z]:/.test(name)) return 'it starts with a drive letter';
  for (const segment of name.split('/')) {
    if (segment === '..') return 'it contains a ".." segment';
    if (segment === '.') return 'it contains a "." segment';
    if (segment === '') return 'it contains an empty segment';
  }
  return undefined;
}
