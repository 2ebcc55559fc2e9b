/** What an operator does to one task from outside the loop: cancel it, send a dead one back. */
import { YggError } from '../errors.js';
import type { TaskStore } from '../store/store.js';
import { statusOf, type Task, yggOf } from '../store/task.js';
import { nextTimestamp } from '../store/timestamps.js';

/**
 * Closes a task with reason `cancelled`. A loop running it sees the change through its store
 * watch and aborts the handler.
 */
export async function cancelTask(store: TaskStore, id: string, by: string, now = Date.now()): Promise<Task> {
  const task = requireTask(store, id);
  if (statusOf(task) === 'closed')
    throw new YggError(`task ${id} is already closed (${task.close_reason ?? 'no reason'})`);
  const written = await store.update(id, (current) => {
    if (statusOf(current) === 'closed') return undefined;
    const stamp = nextTimestamp(current.updated_at, new Date(now));
    const meta = yggOf(current);
    return {
      ...current,
      status: 'closed',
      closed_at: stamp,
      close_reason: 'cancelled',
      updated_at: stamp,
      metadata: { ...asRecord(current.metadata), ygg: { ...meta, cancelled: { at: stamp, by } } },
    };
  });
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
  const written = await store.update(id, (current) => {
    const meta = yggOf(current);
    if (!meta.dead) return undefined;
    const stamp = nextTimestamp(current.updated_at, new Date(now));
    const { dead: _dead, next_try_at: _next, ...rest } = meta;
    const next: Task = { ...current, status: 'open', updated_at: stamp };
    delete next.assignee;
    delete next.closed_at;
    delete next.close_reason;
    return { ...next, metadata: { ...asRecord(current.metadata), ygg: { ...rest, retried_at: stamp } } };
  });
  if (!written) throw new YggError(`task ${id} changed while retrying it; look at it with: ygg show ${id}`);
  return written;
}

/** The tasks on the dead-letter list: blocked by ygg after their last attempt. */
export function deadLetters(store: TaskStore): Task[] {
  return store.list(['blocked']).filter((t) => yggOf(t).dead !== undefined);
}

function requireTask(store: TaskStore, id: string): Task {
  const task = store.get(id);
  if (!task) throw new YggError(`no task ${id} in ${store.path}`, { hint: 'ygg list shows the tasks' });
  return task;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
