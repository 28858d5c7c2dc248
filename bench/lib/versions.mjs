import { run } from './proc.mjs';

const PROBES = [
  ['nginx', '/usr/sbin/nginx', ['-v'], /nginx\/([\d.]+)/],
  // vsftpd prints its version to file descriptor 0.
  ['vsftpd', 'sh', ['-c', '/usr/sbin/vsftpd -v 0>&1'], /version ([\d.]+)/i],
  ['sshd', '/usr/sbin/sshd', ['-V'], /OpenSSH_([\w.]+)/],
  ['aria2c', 'aria2c', ['--version'], /aria2 version ([\d.]+)/],
  ['curl', 'curl', ['--version'], /curl ([\d.]+)/],
  ['wget2', 'wget2', ['--version'], /Wget2? ([\d.]+)/i],
  ['lftp', 'lftp', ['--version'], /Version ([\d.]+)/],
  ['openssl', 'openssl', ['version'], /OpenSSL ([\w.]+)/],
];

/** The version of every program the bench drives (what it printed, parsed). */
export async function toolVersions() {
  const out = {};
  for (const [name, command, args, pattern] of PROBES) {
    try {
      const r = await run(command, args, { allowFailure: true });
      const m = pattern.exec(`${r.stdout}\n${r.stderr}`);
      out[name] = m ? m[1] : 'unknown';
    } catch {
      out[name] = 'missing';
    }
  }
  return out;
}
