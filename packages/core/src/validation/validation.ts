import { DIGEST_HEX_LENGTHS, type DigestAlgorithm, type Digests } from '../contracts/digests.js';
import type { DownloadRequest } from '../contracts/download-request.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';
import type { Validator } from '../contracts/validator.js';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { ValidationError } from '../errors/validation-error.js';
import { DigestSet } from './digest-set.js';
import { SizeValidator } from './size-validator.js';

/**
 * Every check of one download, fed in one pass: the size, all expected and
 * requested digests (computed together), digests the remote advertised for
 * an algorithm we compute anyway, and custom validators.
 */
export class Validation {
  readonly #validators: Validator[] = [];
  #digests: DigestSet;
  #expected: Digests;
  #advertised: Digests = {};
  #bytes = 0;
  readonly #url: string;
  #expectedSize: number | undefined;
  readonly #requested: readonly DigestAlgorithm[];

  constructor(request: DownloadRequest<unknown>, url: string) {
    this.#url = url;
    this.#expected = normalizeDigests(request.digests, url);
    this.#expectedSize = request.size;
    if (request.size !== undefined) this.#validators.push(new SizeValidator(request.size, url));
    for (const factory of request.validators ?? []) this.#validators.push(factory(request));
    this.#requested = request.computeDigests ?? [];
    this.#digests = new DigestSet(this.#algorithms());
  }

  /** Bytes seen since the last reset. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Adds expectations a wrapper learnt (metalink size and hashes). Returns
   * true when a digest algorithm was added after bytes were hashed: the
   * caller must restart from byte 0 so the new digest covers every byte.
   */
  expect(extra: { size?: number; digests?: Digests } | undefined): boolean {
    if (extra === undefined) return false;
    if (extra.size !== undefined && this.#expectedSize === undefined) {
      this.#expectedSize = extra.size;
      this.#validators.unshift(new SizeValidator(extra.size, this.#url, this.#bytes));
    }
    const added = normalizeDigests(extra.digests, this.#url);
    let grew = false;
    for (const [algorithm, hex] of Object.entries(added) as [DigestAlgorithm, string][]) {
      if (this.#expected[algorithm] === undefined) {
        this.#expected = { ...this.#expected, [algorithm]: hex };
        if (!this.#digests.has(algorithm)) grew = true;
      }
    }
    if (!grew) return false;
    this.#digests = new DigestSet(this.#algorithms());
    if (this.#bytes === 0) return false;
    return true;
  }

  begin(metadata: RemoteMetadata): void {
    this.#advertised = metadata.digests ?? {};
    for (const validator of this.#validators) validator.begin?.(metadata);
  }

  update(chunk: Uint8Array): void {
    this.#bytes += chunk.byteLength;
    for (const validator of this.#validators) validator.update(chunk);
    this.#digests.update(chunk);
  }

  /** Runs the final checks and returns every computed digest. */
  finish(): Digests {
    for (const validator of this.#validators) validator.finish();
    const computed = this.#digests.digest();
    this.#compare(this.#expected, computed, 'expected');
    this.#compare(this.#advertised, computed, 'advertised by the remote');
    return computed;
  }

  reset(): void {
    this.#bytes = 0;
    for (const validator of this.#validators) validator.reset();
    this.#digests.reset();
  }

  #algorithms(): Set<DigestAlgorithm> {
    return new Set([...(Object.keys(this.#expected) as DigestAlgorithm[]), ...this.#requested]);
  }

  #compare(wanted: Digests, computed: Digests, source: string): void {
    for (const [algorithm, hex] of Object.entries(wanted) as [DigestAlgorithm, string][]) {
      const actual = computed[algorithm];
      if (actual === undefined || actual === hex.toLowerCase()) continue;
      throw new ValidationError(
        `Digest mismatch: ${algorithm} ${source} ${hex.toLowerCase()}, got ${actual}`,
        {
          code: ErrorCodes.DigestMismatch,
          check: algorithm,
          expected: hex.toLowerCase(),
          actual,
          url: this.#url,
        },
      );
    }
  }
}

/** Lowercases and checks expected digests; a bad algorithm or hex is an `invalid-request`. */
export function normalizeDigests(digests: Digests | undefined, url?: string): Digests {
  const out: Digests = {};
  for (const [algorithm, hex] of Object.entries(digests ?? {})) {
    if (hex === undefined) continue;
    const length = DIGEST_HEX_LENGTHS[algorithm as DigestAlgorithm];
    if (length === undefined) {
      throw new DownloadError(
        `Unsupported digest algorithm "${algorithm}" (supported: ${Object.keys(DIGEST_HEX_LENGTHS).join(', ')})`,
        { code: ErrorCodes.InvalidRequest, ...(url === undefined ? {} : { url }) },
      );
    }
    if (typeof hex !== 'string' || hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) {
      throw new DownloadError(`Invalid ${algorithm} digest: expected ${length} hex characters`, {
        code: ErrorCodes.InvalidRequest,
        details: { algorithm },
        ...(url === undefined ? {} : { url }),
      });
    }
    out[algorithm as DigestAlgorithm] = hex.toLowerCase();
  }
  return out;
}
