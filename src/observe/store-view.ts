/**
 * Parts of a status snapshot read from the task store alone: the queue, dead letters, tasks
 * in progress and the recent history kept in `metadata.ygg.history`. Used by the live tracker
 * (the store is the truth for queue and dead letters) and by `snapshotFromStore`.
 */
import type { YggConfig } from '../config/types.js';
import type { TaskStore } from '../store/store.js';
import { priorityOf, type Task, yggOf } from '../store/task.js';
import {
  type DeadLetter,
  type HostStatus,
  type OutcomeKind,
  type QueueDepth,
  type QueueStatus,
  type RecentOutcome,
  type RunningTask,
  snapshotLimits,
  summarizeError,
} from './snapshot.js';
import { taskType } from './task-type.js';

export type TypeOf = (task: Task) => string;

export function typeClassifier(config: Pick<YggConfig, 'typeRules' | 'issueTypeMap'> | undefined): TypeOf {
  return (task) => taskType(task, config);
}

/** Ready tasks by (type, priority); those still in a retry backoff are counted apart. */
export function queueFromStore(store: TaskStore, typeOf: TypeOf, now: Date): QueueStatus {
  const counts = new Map<string, QueueDepth>();
  let total = 0;
  let retrying = 0;
  for (const task of store.ready(now)) {
    const next = yggOf(task).next_try_at;
    if (next && Date.parse(next) > now.getTime()) {
      retrying++;
      continue;
    }
    total++;
    const type = typeOf(task);
    const priority = priorityOf(task);
    const key = `${priority}\u0000${type}`;
    const entry = counts.get(key) ?? { type, priority, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  const depth = [...counts.values()].sort((a, b) => a.priority - b.priority || a.type.localeCompare(b.type));
  return { total, depth, retrying };
}

/** Blocked tasks ygg dead-lettered, newest first, bounded; `count` is the full number. */
export function deadLettersFromStore(
  store: TaskStore,
  typeOf: TypeOf,
  limit: number = snapshotLimits.deadLetters,
): { count: number; tasks: DeadLetter[] } {
  const tasks: DeadLetter[] = [];
  for (const task of store.list(['blocked'])) {
    const dead = yggOf(task).dead;
    if (!dead) continue;
    tasks.push({
      id: task.id,
      title: task.title,
      type: typeOf(task),
      attempts: dead.attempts,
      error: summarizeError(dead.error),
      at: dead.at,
    });
  }
  tasks.sort((a, b) => b.at.localeCompare(a.at));
  return { count: tasks.length, tasks: tasks.slice(0, limit) };
}

/** Tasks in progress according to the store (lease and last history entry). */
export function runningFromStore(store: TaskStore, typeOf: TypeOf, now: Date): RunningTask[] {
  const running: RunningTask[] = [];
  for (const task of store.list(['in_progress'])) {
    const ygg = yggOf(task);
    const last = ygg.history?.at(-1);
    const open = last && !last.end ? last : undefined;
    const startedAt = open?.start ?? task.started_at ?? task.updated_at ?? now.toISOString();
    running.push({
      id: task.id,
      title: task.title,
      type: typeOf(task),
      host: open?.host ?? ygg.lease?.host ?? task.assignee ?? '?',
      attempt: open?.attempt ?? ygg.attempt ?? 1,
      startedAt,
      elapsedMs: Math.max(0, now.getTime() - Date.parse(startedAt)),
    });
  }
  return running.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

const outcomeKinds: Record<string, OutcomeKind> = {
  succeeded: 'succeeded',
  failed: 'failed',
  timeout: 'failed',
  cancelled: 'cancelled',
  lost: 'lost',
  unreachable: 'retry',
};

/** Ended attempts from every task's history, newest first, bounded. */
export function recentFromStore(
  store: TaskStore,
  typeOf: TypeOf,
  limit: number = snapshotLimits.recent,
): RecentOutcome[] {
  const all: RecentOutcome[] = [];
  // One task at a time, and only lines with a history: on a large store, holding every task
  // at once was the loop's peak of memory.
  for (const task of store.scan({ mentioning: '"history"' })) {
    const ygg = yggOf(task);
    const history = ygg.history ?? [];
    history.forEach((record, i) => {
      if (!record.end || !record.outcome) return;
      const isLast = i === history.length - 1;
      let outcome = outcomeKinds[record.outcome] ?? 'failed';
      // A failed attempt followed by another was retried; the last one of a dead task is dead.
      if (outcome === 'failed') outcome = !isLast ? 'retry' : ygg.dead ? 'dead' : 'failed';
      all.push({
        id: task.id,
        title: task.title,
        type: typeOf(task),
        host: record.host,
        attempt: record.attempt,
        outcome,
        at: record.end,
        runMs: record.run_ms ?? (Math.max(0, Date.parse(record.end) - Date.parse(record.start)) || undefined),
        error: record.error ? summarizeError(record.error) : undefined,
      });
    });
  }
  all.sort((a, b) => b.at.localeCompare(a.at));
  return all.slice(0, limit);
}

/** Hosts as configured, before anything is known about them. */
export function hostsFromConfig(config: YggConfig | undefined): HostStatus[] {
  return (config?.hosts ?? []).map((host) => ({
    name: host.name,
    state: 'unknown',
    slots: { used: 0, total: host.slots, effective: host.slots },
    draining: false,
    gpus: [],
    protections: [],
  }));
}
