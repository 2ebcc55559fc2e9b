/** What a task's history says about its attempts, for the retry decision and routing. */
import { type Task, yggOf } from '../../store/task.js';

/** The history since the last `ygg retry` (which starts the count again). */
function sinceSentBack(task: Task) {
  const meta = yggOf(task);
  const since = meta.retried_at ? Date.parse(meta.retried_at) : Number.NEGATIVE_INFINITY;
  return (meta.history ?? []).filter((h) => Date.parse(h.start) >= since);
}

/** Attempts that counted against the task's limit (shutdown interruptions and lost runs do not). */
export function failedAttempts(task: Task): number {
  return sinceSentBack(task).filter((h) => h.outcome === 'failed' || h.outcome === 'timeout').length;
}

/** Attempts that ended because their host could not be reached. */
export function unreachableAttempts(task: Task): number {
  return sinceSentBack(task).filter((h) => h.outcome === 'unreachable').length;
}

const avoidedOutcomes = new Set(['failed', 'timeout', 'lost', 'unreachable']);

/** Hosts this task already failed on, so a retry prefers another. */
export function failedHosts(task: Task): Set<string> {
  return new Set(
    (yggOf(task).history ?? []).filter((h) => avoidedOutcomes.has(h.outcome ?? '')).map((h) => h.host),
  );
}
