/**
 * A clock for tests: time moves only when the test says so. Timers and intervals fire in time
 * order as `advance` passes them, so leases, timeouts and retries run in milliseconds.
 */
import type { Clock } from '../../src/dispatch/clock.js';

interface Timer {
  at: number;
  fn: () => void;
  every?: number;
}

export class FakeClock implements Clock {
  #now: number;
  readonly #timers = new Set<Timer>();

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: Timer = { at: this.#now + Math.max(0, ms), fn };
    this.#timers.add(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as Timer);
  }

  setInterval(fn: () => void, ms: number): unknown {
    const every = Math.max(1, ms);
    const timer: Timer = { at: this.#now + every, fn, every };
    this.#timers.add(timer);
    return timer;
  }

  clearInterval(handle: unknown): void {
    this.#timers.delete(handle as Timer);
  }

  /** Timers due at or before `at`, earliest first. */
  pending(at = Number.POSITIVE_INFINITY): number[] {
    return [...this.#timers].filter((t) => t.at <= at).map((t) => t.at);
  }

  /**
   * Moves time forward by `ms`, firing each timer as its time comes (intervals again and again),
   * and letting promises the timers resolve run between them.
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      const due = [...this.#timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#now = Math.max(this.#now, due.at);
      if (due.every) due.at += due.every;
      else this.#timers.delete(due);
      due.fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}

/** Lets queued promise callbacks and immediates run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
