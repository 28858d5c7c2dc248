import { readFile } from 'node:fs/promises';
import {
  DownloadError,
  ErrorCodes,
  resolveSecret,
  serializeSecret,
  REDACTED_SECRET,
  type SecretInput,
  type SecretRef,
} from '@dl/core';

/**
 * PEM material: the PEM text itself (recognised by its `-----BEGIN` line),
 * a path to a PEM file, or a reference to a file or environment variable.
 */
export type PemInput = string | SecretRef;

/** TLS settings for https origins (and an https proxy). */
export interface HttpTlsOptions {
  /** Certificate authorities to trust instead of Node's bundle. @default Node's built-in CAs */
  readonly ca?: PemInput | readonly PemInput[];
  /** Client certificate chain (PEM) for servers that ask for one. @default none */
  readonly cert?: PemInput;
  /** Private key of the client certificate (PEM). A secret: inline keys are redacted from `toJSON()`. @default none */
  readonly key?: PemInput;
  /** Passphrase of an encrypted `key`. @default none */
  readonly passphrase?: SecretInput;
  /**
   * Verify the server's certificate. Only an explicit `false` turns it off,
   * and then the session logs a warning.
   * @default true
   */
  readonly rejectUnauthorized?: boolean;
  /** Server name for SNI and certificate checks, when it differs from the URL host. @default the URL host */
  readonly servername?: string;
}

/** TLS settings ready for Node's `tls.connect`. */
export interface ResolvedTls {
  ca?: string[];
  cert?: string;
  key?: string;
  passphrase?: string;
  rejectUnauthorized: boolean;
  servername?: string;
}

/** Reads every PEM file and secret reference of the TLS options. */
export async function resolveTls(options: HttpTlsOptions | undefined): Promise<ResolvedTls> {
  const tls: ResolvedTls = { rejectUnauthorized: options?.rejectUnauthorized !== false };
  if (!options) return tls;
  if (options.ca !== undefined) {
    const list = Array.isArray(options.ca) ? options.ca : [options.ca as PemInput];
    tls.ca = await Promise.all(list.map((ca) => readPem(ca, 'tls.ca')));
  }
  if (options.cert !== undefined) tls.cert = await readPem(options.cert, 'tls.cert');
  if (options.key !== undefined) tls.key = await readPem(options.key, 'tls.key');
  if (options.passphrase !== undefined) {
    tls.passphrase = await resolveSecret(options.passphrase, 'tls.passphrase');
  }
  if (options.servername !== undefined) tls.servername = options.servername;
  return tls;
}

/** The TLS options as plain data: paths and references kept, inline keys redacted. */
export function serializeTls(options: HttpTlsOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (options.ca !== undefined) out.ca = options.ca;
  if (options.cert !== undefined) out.cert = options.cert;
  if (options.key !== undefined) {
    out.key =
      typeof options.key === 'string' && isPemText(options.key) ? REDACTED_SECRET : options.key;
  }
  if (options.passphrase !== undefined) out.passphrase = serializeSecret(options.passphrase);
  if (options.rejectUnauthorized !== undefined) out.rejectUnauthorized = options.rejectUnauthorized;
  if (options.servername !== undefined) out.servername = options.servername;
  return out;
}

function isPemText(value: string): boolean {
  return value.includes('-----BEGIN');
}

async function readPem(input: PemInput, what: string): Promise<string> {
  if (typeof input === 'string') {
    if (isPemText(input)) return input;
    try {
      return await readFile(input, 'utf8');
    } catch (error) {
      throw new DownloadError(`The ${what} file ${input} cannot be read`, {
        code: ErrorCodes.InvalidRequest,
        cause: error,
      });
    }
  }
  return resolveSecret(input, what);
}
