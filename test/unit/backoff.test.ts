import { describe, expect, it } from 'vitest';
import type { BackoffSettings } from '../../src/config/types.js';
import { retryDelay } from '../../src/schedule/backoff.js';

const settings: BackoffSettings = { baseMs: 1000, maxMs: 30_000, factor: 2, jitter: 0 };

describe('retryDelay', () => {
  it('grows exponentially from the base after each failed attempt', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelay(attempt, settings))).toEqual([
      1000, 2000, 4000, 8000, 16_000,
    ]);
  });

  it('never exceeds the cap, even for huge attempt numbers', () => {
    expect(retryDelay(6, settings)).toBe(30_000);
    expect(retryDelay(10_000, settings)).toBe(30_000);
    expect(retryDelay(10_000, { ...settings, jitter: 1 }, () => 0.999)).toBeLessThanOrEqual(30_000);
  });

  it('draws the jitter fraction of the delay at random, below the undelayed value', () => {
    const jittered = { ...settings, jitter: 0.5 };
    expect(retryDelay(3, jittered, () => 0)).toBe(2000);
    expect(retryDelay(3, jittered, () => 0.5)).toBe(3000);
    expect(retryDelay(3, jittered, () => 1)).toBe(4000);
  });

  it('spreads retries of tasks that failed together', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const delays = Array.from({ length: 200 }, () => retryDelay(4, { ...settings, jitter: 0.2 }, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(6400);
    expect(Math.max(...delays)).toBeLessThanOrEqual(8000);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });

  it('treats attempt 0 or less like the first, and keeps a zero base at zero', () => {
    expect(retryDelay(0, settings)).toBe(1000);
    expect(retryDelay(-3, settings)).toBe(1000);
    expect(retryDelay(5, { ...settings, baseMs: 0 })).toBe(0);
  });

  it('holds with a factor of 1 (constant backoff)', () => {
    expect(retryDelay(7, { ...settings, factor: 1 })).toBe(1000);
  });
});
