/**
 * `queue.rate_limit` held across every loop on a store: a claim is declined, under the store's
 * lock, when the submitter's starts recorded in the store (every loop's claims, in the tasks'
 * histories) already reach the limit. The starts are read once per commit and each claim of the
 * commit adds its own, so a commit of many claims reads the store once.
 */
import type { RateLimit } from '../../schedule/rate-limit.js';
import type { MutationContext } from '../../store/store.js';
import { submitterOf, type Task, yggOf } from '../../store/task.js';

/** Statuses a recently started task can be in. */
const startedStatuses = ['open', 'in_progress', 'blocked', 'closed'];

/**
 * When an attempt recorded as starting at `text` may have started, at the latest: a time in whole
 * seconds (as bd stamps them) stands for any moment of that second, so the limit counts its end.
 */
export function latestStart(text: string): number {
  const at = Date.parse(text);
  return /\.\d/.test(text) ? at : at + 999;
}

const startsInCommit = new WeakMap<MutationContext, Map<string, number[]>>();

function startsOf(context: MutationContext): Map<string, number[]> {
  let starts = startsInCommit.get(context);
  if (starts) return starts;
  starts = new Map();
  for (const task of context.tasks(startedStatuses)) {
    const history = yggOf(task).history;
    if (!history || history.length === 0) continue;
    const submitter = submitterOf(task);
    const times = starts.get(submitter) ?? [];
    for (const entry of history) {
      const at = latestStart(entry.start);
      if (!Number.isNaN(at)) times.push(at);
    }
    starts.set(submitter, times);
  }
  startsInCommit.set(context, starts);
  return starts;
}

/** True when `task`'s submitter may not start another task at `now` under `limit`. */
export function overRate(context: MutationContext, task: Task, limit: RateLimit, now: number): boolean {
  const times = startsOf(context).get(submitterOf(task)) ?? [];
  if ('minGapMs' in limit) return times.some((at) => at > now - limit.minGapMs);
  return times.filter((at) => at > now - limit.windowMs).length >= limit.starts;
}

/** A claim of the commit started `task` at `now`: the next claim in the commit counts it. */
export function startedInCommit(context: MutationContext, task: Task, now: number): void {
  const starts = startsInCommit.get(context);
  if (!starts) return;
  const submitter = submitterOf(task);
  starts.set(submitter, [...(starts.get(submitter) ?? []), now]);
}
