import { describe, expect, it } from 'vitest';
import { redactedError } from './redacted-error.js';

describe('redactedError', () => {
  it('removes the secrets from message and stack, keeping name and listed properties', () => {
    const original = Object.assign(new TypeError('login hunter22 refused'), {
      code: 530,
      level: 'client-authentication',
      details: { nested: true },
    });
    const copy = redactedError(original, ['hunter22'], ['code', 'level', 'details']);
    expect(copy.message).toBe('login REDACTED refused');
    expect(copy.stack).not.toContain('hunter22');
    expect(copy.name).toBe('TypeError');
    expect(copy).toMatchObject({ code: 530, level: 'client-authentication' });
    // Only string and number values are copied, never objects that could hold anything.
    expect('details' in copy).toBe(false);
  });

  it('copies only code by default and wraps non-errors', () => {
    const copy = redactedError(Object.assign(new Error('x'), { code: 'E', level: 'l' }), []);
    expect(copy).toMatchObject({ code: 'E' });
    expect('level' in copy).toBe(false);
    expect(redactedError('ftp://u:pw@h/ hunter22', ['hunter22']).message).toBe(
      'ftp://REDACTED@h/ REDACTED',
    );
  });
});
