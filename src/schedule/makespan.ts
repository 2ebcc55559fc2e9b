/**
 * Placement for `queue.order: makespan`: each task goes to the eligible host expected to finish
 * it soonest, counting the wait for that host's next free slot. When that host is busy the task
 * waits for it (its slot is reserved in the plan) rather than starting somewhere slower; tasks
 * behind it are still placed, so nothing waits behind another task's host.
 */
export class MakespanPlan {
  /** Per host, when each slot is expected to be free (ms from now; 0 = free now). */
  readonly #slots: Map<string, number[]>;

  constructor(slotFreeIn: ReadonlyMap<string, readonly number[]>) {
    this.#slots = new Map([...slotFreeIn].map(([host, times]) => [host, [...times].sort((a, b) => a - b)]));
  }

  /**
   * Chooses the host for a task; returns it with `now: true` when its slot is free now (start it),
   * or `now: false` when the task should wait for that host (its slot is then reserved).
   */
  place(
    eligible: readonly string[],
    expected: (host: string) => number,
  ): { host: string; now: boolean; finishMs: number } | undefined {
    let best: { host: string; finishMs: number; start: number } | undefined;
    for (const host of eligible) {
      const times = this.#slots.get(host);
      if (!times || times.length === 0) continue;
      const start = times[0]!;
      const finishMs = start + expected(host);
      if (!best || finishMs < best.finishMs) best = { host, finishMs, start };
    }
    if (!best) return undefined;
    const times = this.#slots.get(best.host)!;
    times[0] = best.finishMs;
    times.sort((a, b) => a - b);
    return { host: best.host, now: best.start === 0, finishMs: best.finishMs };
  }
}
