/** What an operator does to one task from outside the loop: cancel it, send a dead one back. */
import { noSuchTask, YggError } from '../errors.js';
import type { TaskStore } from '../store/store.js';
import { statusOf, type Task, yggOf } from '../store/task.js';
import { applyChange } from './lifecycle/apply.js';

/**
 * Closes a task with reason `cancelled`. A loop running it sees the change through its store
 * watch and aborts the handler.
 */
export async function cancelTask(store: TaskStore, id: string, by: string, now = Date.now()): Promise<Task> {
  const task = requireTask(store, id);
  if (statusOf(task) === 'closed')
    throw new YggError(`task ${id} is already closed (${task.close_reason ?? 'no reason'})`);
  const written = await applyChange(store, { op: 'cancel', id, by, now });
  if (!written) throw new YggError(`task ${id} changed while cancelling it; look at it with: ygg show ${id}`);
  return written;
}

/** Sends a dead-lettered task back to the queue with a fresh count of attempts. */
export async function retryTask(store: TaskStore, id: string, now = Date.now()): Promise<Task> {
  const task = requireTask(store, id);
  if (!yggOf(task).dead) {
    throw new YggError(`task ${id} is not on the dead-letter list (status ${statusOf(task)})`, {
      hint: 'ygg dlq lists the tasks that can be retried',
    });
  }
  const written = await applyChange(store, { op: 'send-back', id, now });
  if (!written) throw new YggError(`task ${id} changed while retrying it; look at it with: ygg show ${id}`);
  return written;
}

/** The tasks on the dead-letter list: blocked by ygg after their last attempt. */
export function deadLetters(store: TaskStore): Task[] {
  return store.list(['blocked']).filter((t) => yggOf(t).dead !== undefined);
}

function requireTask(store: TaskStore, id: string): Task {
  const task = store.get(id);
  if (!task) throw noSuchTask(id, store.path);
  return task;
}
