import type { RemoteMetadata } from '../contracts/remote-resource.js';
import type { ValidatorFactory } from '../contracts/validator.js';

/** A validator that checks nothing and remembers the metadata of the latest attempt. */
export interface MetadataTap {
  readonly validator: ValidatorFactory;
  latest(): RemoteMetadata | undefined;
}

/**
 * `open()` resolves with the first attempt's metadata; when that attempt
 * fails before its first byte and a retry (or another mirror) serves the
 * bytes, the headers must describe the retry. Validators see every attempt's
 * metadata (except for range requests, which skip validation).
 */
export function metadataTap(): MetadataTap {
  let latest: RemoteMetadata | undefined;
  const validator: ValidatorFactory = () => ({
    name: 'streamer-metadata',
    begin(metadata) {
      latest = metadata;
    },
    update() {},
    finish() {},
    reset() {},
  });
  return { validator, latest: () => latest };
}
