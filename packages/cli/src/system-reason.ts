/**
 * The system's reason for a failed file operation, without the path (the
 * caller names it): `ENOENT: no such file or directory`, `EACCES: permission
 * denied`, `EISDIR: illegal operation on a directory`.
 */
export function systemReason(error: unknown): string {
  const { code, message } = (error ?? {}) as NodeJS.ErrnoException;
  const head =
    typeof message === 'string' ? /^([A-Z][A-Z0-9_]*: [^,]+)/.exec(message)?.[1] : undefined;
  return head ?? code ?? String(error);
}
