import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/schedule/rate-limit.js';

describe('per-submitter rate limits', () => {
  it('allows N starts per sliding window and says when the next may start', () => {
    const limiter = new RateLimiter({ starts: 2, windowMs: 60_000 });
    expect(limiter.nextStartAt('alice', 0)).toBeUndefined();
    limiter.record('alice', 0);
    limiter.record('alice', 10_000);
    expect(limiter.nextStartAt('alice', 20_000)).toBe(60_000);
    expect(limiter.nextStartAt('bob', 20_000)).toBeUndefined();
    expect(limiter.nextStartAt('alice', 60_000)).toBeUndefined();
    limiter.record('alice', 60_000);
    expect(limiter.nextStartAt('alice', 60_000)).toBe(70_000);
  });

  it('enforces a minimum gap between starts', () => {
    const limiter = new RateLimiter({ minGapMs: 5000 });
    limiter.record('alice', 1000);
    expect(limiter.nextStartAt('alice', 3000)).toBe(6000);
    expect(limiter.nextStartAt('alice', 6000)).toBeUndefined();
    limiter.setLimit(undefined);
    expect(limiter.nextStartAt('alice', 3000)).toBeUndefined();
  });
});
