import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files (paths and contents) made by the tests with the openssl CLI. */
export interface TestCertificates {
  readonly dir: string;
  readonly caPath: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCertPath: string;
  readonly clientKeyPath: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A server certificate signed by nobody we trust. */
  readonly rogueCert: string;
  readonly rogueKey: string;
}

let made: Promise<TestCertificates> | undefined;

/** A CA, a server certificate for 127.0.0.1/localhost, a client certificate and a self-signed rogue; made once per test file. */
export function testCertificates(): Promise<TestCertificates> {
  made ??= make();
  return made;
}

/** Removes the certificates' folder; test files that use them call it in `afterAll`. */
export async function removeTestCertificates(): Promise<void> {
  const pending = made;
  made = undefined;
  if (pending) await rm((await pending).dir, { recursive: true, force: true });
}

async function make(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'dl-http-certs-'));
  const p = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=dl test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const issue = async (name: string, cn: string, ext: string) => {
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
      '-subj',
      `/CN=${cn}`,
    ]);
    await writeFile(p(`${name}.ext`), ext);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p(`${name}.crt`),
      '-days',
      '2',
      '-extfile',
      p(`${name}.ext`),
    ]);
  };
  await issue(
    'server',
    'localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  await issue('client', 'dl test client', 'extendedKeyUsage=clientAuth\n');
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('rogue.key'),
    '-out',
    p('rogue.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  const read = (name: string) => readFile(p(name), 'utf8');
  return {
    dir,
    caPath: p('ca.crt'),
    ca: await read('ca.crt'),
    serverCert: await read('server.crt'),
    serverKey: await read('server.key'),
    clientCertPath: p('client.crt'),
    clientKeyPath: p('client.key'),
    clientCert: await read('client.crt'),
    clientKey: await read('client.key'),
    rogueCert: await read('rogue.crt'),
    rogueKey: await read('rogue.key'),
  };
}
