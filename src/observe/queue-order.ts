/**
 * The waiting tasks in the order a loop starts them, near enough: priority first (P0 before P4),
 * then the one ready longest. The loop remembers why each task waits in the order it first
 * decided, so a P0 that arrives behind a long backlog would otherwise be listed last, or past
 * the snapshot's bound and not at all.
 */

/** A task without a priority counts as P0, as the loop orders it. */
function rank(priority: number | undefined): number {
  return typeof priority === 'number' && Number.isFinite(priority) ? priority : 0;
}

/** A new array, sorted; ties keep their order (merged views keep each loop's). */
export function inQueueOrder<T extends { id: string; priority?: number }>(
  tasks: readonly T[],
  readySince?: (id: string) => number | undefined,
): T[] {
  const keyed = tasks.map((task, at) => ({
    task,
    at,
    priority: rank(task.priority),
    since: readySince?.(task.id) ?? Number.POSITIVE_INFINITY,
  }));
  keyed.sort((a, b) => a.priority - b.priority || a.since - b.since || a.at - b.at);
  return keyed.map((k) => k.task);
}
