/**
 * Backpressure: `queue.max_size` (open tasks in total) and `queue.max_per_submitter`. `ygg add`
 * refuses a task past a limit (checked under the store's write lock); a task that got past one
 * anyway (written into the file by another tool) is not dropped: it waits, reported as over.
 */
import { YggError } from '../errors.js';
import { statusOf, submitterOf, type Task } from '../store/task.js';
import { plural } from '../text/plural.js';
import { compareFifo } from './order.js';

export interface QueueLimits {
  maxSize?: number;
  maxPerSubmitter?: number;
}

/** Exit status of `ygg add` when the queue is full: EX_TEMPFAIL, "try again later". */
export const queueFullExitCode = 75;

/** A task counts against the limits while it waits or runs: `open` or `in_progress`. */
export const queuedStatuses: readonly string[] = ['open', 'in_progress'];

export function isQueued(task: Task): boolean {
  return queuedStatuses.includes(statusOf(task));
}

export class QueueFullError extends YggError {
  override readonly name: string = 'QueueFullError';
  constructor(
    readonly limit: 'max_size' | 'max_per_submitter',
    readonly max: number,
    readonly count: number,
    readonly submitter: string,
  ) {
    super(
      limit === 'max_size'
        ? `the queue is full: ${plural(count, 'open task')}, queue.max_size is ${max}`
        : `${submitter} has ${plural(count, 'open task')}, queue.max_per_submitter is ${max}`,
      {
        hint: `Try again once some finish, or raise queue.${limit} in hosts.yaml (\`ygg config check\` validates it).`,
      },
    );
  }
}

export const hasQueueLimits = (limits: QueueLimits): boolean =>
  limits.maxSize !== undefined || limits.maxPerSubmitter !== undefined;

/** Why a new task of `submitter` may not join the queue now, if it may not. */
export function refusal(
  tasks: Iterable<Task>,
  submitter: string,
  limits: QueueLimits,
): QueueFullError | undefined {
  if (!hasQueueLimits(limits)) return undefined;
  let total = 0;
  let mine = 0;
  for (const task of tasks) {
    if (!isQueued(task)) continue;
    total += 1;
    if (submitterOf(task) === submitter) mine += 1;
  }
  if (limits.maxSize !== undefined && total >= limits.maxSize)
    return new QueueFullError('max_size', limits.maxSize, total, submitter);
  if (limits.maxPerSubmitter !== undefined && mine >= limits.maxPerSubmitter)
    return new QueueFullError('max_per_submitter', limits.maxPerSubmitter, mine, submitter);
  return undefined;
}

/**
 * Open tasks past a limit, with why: the oldest `max_size` queued tasks are within the limit (and
 * the oldest `max_per_submitter` of each submitter's); the newer ones wait until older ones end.
 */
export function overLimit(tasks: Iterable<Task>, limits: QueueLimits): Map<string, string> {
  const over = new Map<string, string>();
  if (!hasQueueLimits(limits)) return over;
  const queued = [...tasks]
    .filter(isQueued)
    .sort((a, b) => compareFifo({ ...a, priority: 0 }, { ...b, priority: 0 }));
  const perSubmitter = new Map<string, number>();
  let within = 0;
  for (const task of queued) {
    const who = submitterOf(task);
    const mine = (perSubmitter.get(who) ?? 0) + 1;
    perSubmitter.set(who, mine);
    if (limits.maxPerSubmitter !== undefined && mine > limits.maxPerSubmitter) {
      over.set(
        task.id,
        `over the queue limit: ${who} has more than queue.max_per_submitter (${limits.maxPerSubmitter}) open tasks; it waits for older ones to end`,
      );
      continue;
    }
    within += 1;
    if (limits.maxSize !== undefined && within > limits.maxSize) {
      over.set(
        task.id,
        `over the queue limit: more than queue.max_size (${limits.maxSize}) open tasks; it waits for older ones to end`,
      );
    }
  }
  return over;
}
