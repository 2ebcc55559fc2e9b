/**
 * Every loop's starts, as the store's task histories record them, told to the rate limiter: so
 * that a loop waits for a submitter's rate limit when other loops on the store (other machines)
 * used it up, instead of trying claims the store declines. Read once from the whole store, then
 * from each changed task.
 */
import type { TaskStore } from '../store/store.js';
import { submitterOf, type Task, yggOf } from '../store/task.js';
import { latestStart } from './lifecycle/rate-in-commit.js';

/**
 * Whether a rate limit must hold across loops on other machines: a store shared by machines
 * (PostgreSQL). The file store keeps each loop's own count, as it always did.
 */
export const startsShared = (store: Pick<TaskStore, 'sharedState'>): boolean =>
  store.sharedState !== undefined;

export type StartSink = (submitter: string, at: number, key: string) => void;

/** The key of one start: the task and its attempt (the loop that launched it tells it the same way). */
export const startKey = (id: string, attempt: number): string => `${id}#${attempt}`;

function tell(task: Task, sink: StartSink): void {
  const history = yggOf(task).history;
  if (!history) return;
  const submitter = submitterOf(task);
  for (const entry of history) {
    const at = latestStart(entry.start);
    if (!Number.isNaN(at)) sink(submitter, at, startKey(task.id, entry.attempt));
  }
}

/** Tells `sink` of every start in the store now and of each one to come. Returns a stop function. */
export function followStoreStarts(
  store: Pick<TaskStore, 'scan' | 'get' | 'watch'>,
  sink: StartSink,
): () => void {
  for (const task of store.scan({ mentioning: '"history"' })) tell(task, sink);
  return store.watch((change) => {
    for (const id of [...change.added, ...change.changed]) {
      const task = store.get(id);
      if (task) tell(task, sink);
    }
  });
}
