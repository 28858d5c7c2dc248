import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors/error-codes.js';
import { checkOptions, type OptionRules } from './check-options.js';

interface Options {
  timeoutMs?: number;
  keepAliveMs?: number;
  tls?: 'none' | 'explicit' | 'implicit';
  user?: string;
}

const rules: OptionRules<Options> = {
  numbers: { timeoutMs: 1, keepAliveMs: 0 },
  oneOf: { tls: ['none', 'explicit', 'implicit'] },
  known: { timeoutMs: true, keepAliveMs: true, tls: true, user: true },
};

const failure = (options: object) => {
  try {
    checkOptions('demo', options as Options, rules);
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown> };
  }
  return undefined;
};

describe('checkOptions', () => {
  it('accepts valid and unset options', () => {
    expect(failure({})).toBeUndefined();
    expect(failure({ timeoutMs: 1, keepAliveMs: 0, tls: 'implicit', user: 'u' })).toBeUndefined();
  });

  it('rejects numbers below their minimum, non-finite and non-numbers, naming the option', () => {
    for (const options of [{ timeoutMs: 0 }, { timeoutMs: NaN }, { timeoutMs: '5' }]) {
      const error = failure(options);
      expect(error?.code).toBe(ErrorCodes.InvalidRequest);
      expect(error?.message).toBe('demo option timeoutMs must be a number >= 1');
      expect(error?.details).toEqual({ adapter: 'demo', option: 'timeoutMs' });
    }
    expect(failure({ keepAliveMs: -1 })?.message).toBe(
      'demo option keepAliveMs must be a number >= 0',
    );
  });

  it('rejects a value outside its list, listing the allowed ones', () => {
    expect(failure({ tls: 'yes' })?.message).toBe(
      "demo option tls must be 'none', 'explicit' or 'implicit'",
    );
  });

  it('rejects an unknown key (a typo), but not one left undefined', () => {
    expect(failure({ timeoutMS: 5 })?.message).toBe('demo: unknown option timeoutMS');
    expect(failure({ timeoutMS: undefined })).toBeUndefined();
  });
});
