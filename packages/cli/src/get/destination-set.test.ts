import { describe, expect, it } from 'vitest';
import { DestinationSet } from './destination-set.js';

describe('DestinationSet', () => {
  it('returns the first line of a path seen again, across growth', () => {
    const set = new DestinationSet();
    for (let i = 1; i <= 50_000; i++)
      expect(set.add(`/out/d${i % 97}/${i}.bin`, i)).toBeUndefined();
    expect(set.add('/out/d3/3.bin', 60_000)).toBe(3);
    expect(set.add('/out/d0/48500.bin', 60_001)).toBe(48_500);
    expect(set.add('/out/new.bin', 60_002)).toBeUndefined();
    expect(set.add('/out/new.bin', 60_003)).toBe(60_002);
  });

  it('holds at most 32 bytes a path past its first 1,024 slots', () => {
    const set = new DestinationSet();
    for (let i = 1; i <= 200_000; i++) {
      set.add(`/out/w5/${String(i).padStart(6, '0')}`, i);
      if (i % 997 === 0) expect(set.byteLength).toBeLessThanOrEqual(Math.max(32 * i, 12 * 1024));
    }
    expect(set.byteLength).toBeLessThanOrEqual(16 * 200_000);
    expect(set.add('/out/w5/000001', 1)).toBe(1);
  });
});
