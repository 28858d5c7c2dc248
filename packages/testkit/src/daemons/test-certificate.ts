import { readFile } from 'node:fs/promises';
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

/**
 * Generates a fresh self-signed certificate into `dir` (valid two days, for
 * the loopback names). A client trusts it by passing `cert` as its CA; any
 * other client sees a certificate from an unknown CA.
 */
export async function createTestCertificate(
  dir: string,
  name = 'server',
): Promise<TestCertificate> {
  const openssl = findBinary('openssl', 'apt-get install -y openssl');
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
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
  return {
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
    certFile,
    keyFile,
  };
}
