/** The one place `metadata.ygg` and an attempt's history record are rewritten. */
import { makeComment } from '../../store/operations.js';
import type { MutationContext } from '../../store/store.js';
import {
  type AttemptRecord,
  statusOf,
  type Task,
  trustedYgg,
  type YggMeta,
  yggOf,
} from '../../store/task.js';
import { yggAssignee } from '../owner.js';
import type { Ending } from './changes.js';

/** History entries kept on a task; older ones are dropped to keep the line small. */
export const historyKept = 20;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The task with `metadata.ygg` patched: keys set to undefined are removed; every other metadata
 * key is kept. Metadata that is not an object (a string, an array) is not ours to reshape:
 * undefined, so the change declines.
 */
export function withYgg(task: Task, patch: Partial<YggMeta>): Task | undefined {
  if (task.metadata !== undefined && task.metadata !== null && !isRecord(task.metadata)) return undefined;
  const ygg: Record<string, unknown> = { ...yggOf(task) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete ygg[key];
    else ygg[key] = value;
  }
  // The view was checked and the patch is the lifecycle's own: no need to check it again.
  return {
    ...task,
    metadata: { ...(task.metadata as Record<string, unknown> | undefined), ygg: trustedYgg(ygg as YggMeta) },
  };
}

/** True while the attempt holding `token` still owns the task. */
export function holds(task: Task, token: number): boolean {
  return statusOf(task) === 'in_progress' && yggOf(task).lease?.token === token;
}

/**
 * The bookkeeping once an attempt ended: its history record closed with the outcome, the lease
 * expired but kept (its token, so the next claim's is strictly greater).
 */
export function endedMeta(task: Task, ending: Ending, stamp: string): Partial<YggMeta> {
  const meta = yggOf(task);
  const history = [...(meta.history ?? [])];
  const last = history.at(-1);
  if (last && !last.end) {
    const record: AttemptRecord = { ...last, end: stamp, outcome: ending.outcome };
    if (ending.error) record.error = firstLine(ending.error).slice(0, 500);
    if (ending.runMs !== undefined) record.run_ms = Math.round(ending.runMs);
    history[history.length - 1] = record;
  }
  const { lent: _lent, ...lease } = meta.lease ?? { owner: '', token: 0, expires: stamp };
  return {
    ...ending.extra,
    lease: meta.lease ? { ...lease, expires: stamp } : undefined,
    history,
  };
}

/** The task with ygg's comment added (bd's shape, bounded in size). */
export function withComment(task: Task, text: string, stamp: string, context?: MutationContext): Task {
  return {
    ...task,
    comments: [...(task.comments ?? []), makeComment(task, yggAssignee, text, stamp, context)],
  };
}

export function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
