/**
 * Queue limits for a batch (`ygg add --from`): either every task fits under `queue.max_size` and
 * `queue.max_per_submitter`, or none is added, so a refused file can be sent again as it is.
 */
import { YggError } from '../errors.js';
import type { NewTask } from '../store/store.js';
import { submitterOf, type Task } from '../store/task.js';
import { plural } from '../text/plural.js';
import { hasQueueLimits, type QueueLimits, queuedStatuses, refusal } from './backpressure.js';

/** The batch does not fit under `queue.max_size` or `queue.max_per_submitter`; nothing was added. */
export class BulkQueueFullError extends YggError {
  override readonly name: string = 'BulkQueueFullError';
  constructor(
    message: string,
    readonly limit: string,
  ) {
    super(message, {
      hint: `Send fewer tasks, try again once some finish, or raise queue.${limit} in hosts.yaml (\`ygg config check\` validates it).`,
    });
  }
}

/**
 * Sets each new task's precondition for the queue limits, checked at commit time under the write
 * lock: one task alone against `refusal`; a batch as a whole, all or none.
 */
export function guardAdds(inputs: readonly NewTask[], limits: QueueLimits | undefined, batch: boolean): void {
  if (!limits || !hasQueueLimits(limits)) return;
  if (batch) {
    guardBatch(inputs, limits);
    return;
  }
  for (const input of inputs) {
    const submitter = input.created_by ?? 'anonymous';
    input.precondition = (current) => refusal(current.tasks(queuedStatuses), submitter, limits);
  }
}

/**
 * Makes the batch's first add check, at commit time and under the write lock, that the whole
 * batch fits; every other add of the batch follows its verdict. A commit that is planned again
 * (another writer came first) asks the first add again, so the verdict is always fresh.
 */
function guardBatch(inputs: readonly NewTask[], limits: QueueLimits): void {
  const wanted = new Map<string, number>();
  for (const input of inputs) {
    const submitter = input.created_by ?? 'anonymous';
    wanted.set(submitter, (wanted.get(submitter) ?? 0) + 1);
  }
  let verdict: Error | undefined | null = null;
  inputs.forEach((input, i) => {
    input.precondition = (current) => {
      if (i === 0 || verdict === null)
        verdict = batchRefusal(current.tasks(queuedStatuses), wanted, inputs.length, limits);
      return verdict;
    };
  });
}

/** Why `total` new tasks (`wanted` per submitter) may not join the queued ones, if they may not. */
function batchRefusal(
  queued: readonly Task[],
  wanted: ReadonlyMap<string, number>,
  total: number,
  limits: QueueLimits,
): BulkQueueFullError | undefined {
  const perSubmitter = new Map<string, number>();
  for (const task of queued) {
    const submitter = submitterOf(task);
    perSubmitter.set(submitter, (perSubmitter.get(submitter) ?? 0) + 1);
  }
  if (limits.maxSize !== undefined && queued.length + total > limits.maxSize) {
    const room = Math.max(0, limits.maxSize - queued.length);
    return new BulkQueueFullError(
      `the queue has room for ${room} of these ${plural(total, 'task')}: ${plural(queued.length, 'open task')}, queue.max_size is ${limits.maxSize}`,
      'max_size',
    );
  }
  if (limits.maxPerSubmitter !== undefined) {
    for (const [submitter, count] of wanted) {
      const mine = perSubmitter.get(submitter) ?? 0;
      if (mine + count > limits.maxPerSubmitter)
        return new BulkQueueFullError(
          `${submitter} has ${plural(mine, 'open task')} and would add ${count}, queue.max_per_submitter is ${limits.maxPerSubmitter}`,
          'max_per_submitter',
        );
    }
  }
  return undefined;
}
