import { describe, expect, it } from 'vitest';
import { waitFor } from './wait-for.js';

describe('waitFor', () => {
  it('resolves once the predicate holds, sync or async', async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, 1000, { intervalMs: 1 });
    expect(n).toBe(3);
    await waitFor(async () => true, { timeoutMs: 10 });
  });

  it('rejects after the timeout with the message given', async () => {
    const started = Date.now();
    await expect(
      waitFor(() => false, { timeoutMs: 50, message: () => 'still busy' }),
    ).rejects.toThrow('still busy');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    await expect(waitFor(() => false, 20)).rejects.toThrow('Condition not met within 20 ms');
  });
});
