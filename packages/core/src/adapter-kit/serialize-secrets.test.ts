import { describe, expect, it } from 'vitest';
import { REDACTED_SECRET, type SecretInput } from '../config/secret-input.js';
import { serializeSecrets } from './serialize-secrets.js';

interface Options {
  user?: string;
  password?: SecretInput;
  key?: SecretInput;
  timeoutMs?: number;
}

describe('serializeSecrets', () => {
  it('keeps references, redacts inline secrets and copies the rest', () => {
    const options: Options = {
      user: 'u',
      password: 'inline-secret',
      key: { file: '/run/key' },
      timeoutMs: 5,
    };
    const json = serializeSecrets(options, ['password', 'key']);
    expect(json).toEqual({
      user: 'u',
      password: REDACTED_SECRET,
      key: { file: '/run/key' },
      timeoutMs: 5,
    });
    expect(JSON.stringify(json)).not.toContain('inline-secret');
  });

  it('leaves absent secrets absent and does not share reference objects', () => {
    const key = { env: 'KEY' };
    const json = serializeSecrets<Options>({ key }, ['password', 'key']);
    expect(json).toEqual({ key: { env: 'KEY' } });
    expect('password' in json).toBe(false);
    expect(json.key).not.toBe(key);
  });
});
