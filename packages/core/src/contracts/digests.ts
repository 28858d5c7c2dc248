/** Digest algorithms `@dl` computes and checks. */
export type DigestAlgorithm = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** Lowercase hex digests by algorithm. Several may be given at once; all are checked. */
export type Digests = Partial<Record<DigestAlgorithm, string>>;

/** Every supported algorithm with the length of its hex digest. */
export const DIGEST_HEX_LENGTHS: Readonly<Record<DigestAlgorithm, number>> = {
  md5: 32,
  sha1: 40,
  sha224: 56,
  sha256: 64,
  sha384: 96,
  sha512: 128,
};
