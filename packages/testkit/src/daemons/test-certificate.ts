import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './find-binary.js';
import { runChecked } from './run-command.js';

/** A self-signed certificate for 127.0.0.1, ::1 and localhost, made by openssl. */
export interface TestCertificate {
  /** PEM of the certificate: also the CA a client must trust. */
  readonly cert: string;
  /** PEM of the private key. */
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

let shared: Promise<{ cert: string; key: string }> | undefined;

/**
 * Writes a self-signed certificate into `dir` (valid two days, for the
 * loopback names). A client trusts it by passing `cert` as its CA; any other
 * client sees a certificate from an unknown CA. The key pair is generated
 * once per process (RSA key generation is slow) unless `fresh` is set.
 */
export async function createTestCertificate(
  dir: string,
  options: { name?: string; fresh?: boolean } = {},
): Promise<TestCertificate> {
  const name = options.name ?? 'server';
  let pair: Promise<{ cert: string; key: string }>;
  if (options.fresh === true) {
    pair = generate();
  } else {
    shared ??= generate();
    shared.catch(() => (shared = undefined));
    pair = shared;
  }
  const { cert, key } = await pair;
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(certFile, cert);
  await writeFile(keyFile, key, { mode: 0o600 });
  return { cert, key, certFile, keyFile };
}

async function generate(): Promise<{ cert: string; key: string }> {
  const openssl = findBinary('openssl', 'apt-get install -y openssl');
  const dir = await mkdtemp(join(tmpdir(), 'dl-cert-'));
  try {
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    await runChecked(openssl, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ]);
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
