import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActivityRecorder, bucketMs } from '../../src/observe/activity.js';
import { EventBus } from '../../src/observe/events.js';

describe("the loop's record of the last hour", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-12-03T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('samples the queue every 10 s while nothing happens, keeps one hour, and stops when disposed', () => {
    let depth = 5;
    const recorder = new ActivityRecorder(new EventBus(), { queued: () => depth });
    vi.advanceTimersByTime(3 * bucketMs);
    depth = 40; // tasks arrived; none started, so no event says so
    vi.advanceTimersByTime(3 * bucketMs);
    const quiet = recorder.activity().buckets;
    expect(quiet.map((b) => b.queued)).toEqual([5, 5, 5, 40, 40, 40]);

    vi.advanceTimersByTime(2 * 3_600_000);
    const { now, buckets } = recorder.activity();
    expect(buckets.length).toBeLessThanOrEqual(360);
    expect(buckets.length).toBeGreaterThanOrEqual(359);
    expect(buckets.every((b) => b.at > now - 3_600_000)).toBe(true);

    recorder[Symbol.dispose]();
    expect(vi.getTimerCount()).toBe(0);
  });
});
