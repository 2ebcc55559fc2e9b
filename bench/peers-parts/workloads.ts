/** The peers bench's four workloads, as numbers both systems share, and how each is scored. */

export const pickup = { storeSize: 1000, samples: 100 };
export const bulk = { tasks: 2000, slots: 8 };
export const priority = { low: 200, high: 10, lowMs: 50, slots: 8 };
export const spill = { unitMs: 10 };

/** What one system measured in one round. */
export interface Figures {
  pickup_p50_ms: number;
  pickup_p99_ms: number;
  tasks_per_s_8: number;
  /** The worst lag of a high task's start behind the slot release that could first take it. */
  priority_ms: number;
  /** Low tasks that started after the high ones were in the store, before the last high one (goal: none). */
  priority_low_after_high: number;
  spill_ms: number;
}

/** When each task of the priority workload started and ended (ms, one clock). */
export interface PriorityTrace {
  /** When the last high task was in the store (submission returned). */
  submittedAt: number;
  starts: Array<{ high: boolean; at: number }>;
  /** Handler ends of low tasks: each frees a slot a high task could take. */
  releases: number[];
}

/**
 * The i-th high task to start can start at the earliest at the i-th slot release after the
 * high tasks are in the store; its lag is how long after that release it started.
 */
export function priorityScore(trace: PriorityTrace): { worstLagMs: number; lowAfterHigh: number } {
  const releases = trace.releases.filter((t) => t >= trace.submittedAt).sort((a, b) => a - b);
  const highStarts = trace.starts
    .filter((s) => s.high)
    .map((s) => s.at)
    .sort((a, b) => a - b);
  let worst = Number.NEGATIVE_INFINITY;
  highStarts.forEach((at, i) => {
    const bound = releases[i] ?? trace.submittedAt;
    worst = Math.max(worst, at - bound);
  });
  const lastHigh = highStarts.at(-1) ?? trace.submittedAt;
  // A low task that starts while a high one waits took a slot the high one should have had.
  const lowAfterHigh = trace.starts.filter(
    (s) => !s.high && s.at > trace.submittedAt && s.at < lastHigh,
  ).length;
  return { worstLagMs: Math.max(0, worst), lowAfterHigh };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export const now = (): number => performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
