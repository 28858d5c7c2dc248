import { ErrorCodes } from '../errors/error-codes.js';
import { ValidationError } from '../errors/validation-error.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';
import type { Validator } from '../contracts/validator.js';

/**
 * Checks the byte count against an expected size: fails before the body
 * when the remote announces another size, as soon as the body overruns, and
 * at the end when it falls short.
 */
export class SizeValidator implements Validator {
  readonly name = 'size';
  #seen: number;

  /** @param seen - Bytes already received when the expectation arrives late (a wrapper learnt it). */
  constructor(
    private readonly expected: number,
    private readonly url?: string,
    seen = 0,
  ) {
    this.#seen = seen;
    if (seen > expected) throw this.#mismatch(seen, 'received at least');
  }

  begin(metadata: RemoteMetadata): void {
    if (metadata.size !== undefined && metadata.size !== this.expected) {
      throw this.#mismatch(metadata.size, 'the remote announced');
    }
  }

  update(chunk: Uint8Array): void {
    this.#seen += chunk.byteLength;
    if (this.#seen > this.expected) throw this.#mismatch(this.#seen, 'received at least');
  }

  finish(): void {
    if (this.#seen !== this.expected) throw this.#mismatch(this.#seen, 'received');
  }

  reset(): void {
    this.#seen = 0;
  }

  #mismatch(actual: number, how: string): ValidationError {
    return new ValidationError(`Size mismatch: expected ${this.expected} bytes, ${how} ${actual}`, {
      code: ErrorCodes.SizeMismatch,
      check: 'size',
      expected: this.expected,
      actual,
      ...(this.url === undefined ? {} : { url: this.url }),
    });
  }
}
