import { execFile } from 'node:child_process';

/** Runs a program to completion; rejects with its stderr when it exits non-zero. */
export function runCommand(
  file: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: options.env ?? process.env, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        if (error && !Number.isFinite(code)) reject(error);
        else resolve({ stdout, stderr, code });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like {@link runCommand} but rejects on a non-zero exit. */
export async function runChecked(
  file: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const result = await runCommand(file, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} exited with ${result.code}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}
