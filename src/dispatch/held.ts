import type { TaskStore } from '../store/store.js';
import type { Task } from '../store/task.js';
import { dependenciesOf, statusOf, yggOf } from '../store/task.js';

const blockingTypes = new Set(['blocks', 'conditional-blocks']);

/**
 * bd calls a task ready once its blockers are closed; ygg also holds it when a blocker ended
 * cancelled or dead, since the work it waited for never happened. Returns why, or undefined.
 */
export function heldByDependency(task: Task, store: Pick<TaskStore, 'get'>): string | undefined {
  for (const dep of dependenciesOf(task)) {
    if (!blockingTypes.has(dep.type)) continue;
    const target = store.get(dep.depends_on_id);
    if (!target) continue;
    const meta = yggOf(target);
    if (meta.dead) return `held by ${target.id}, which ended dead (${firstLine(meta.dead.error)})`;
    if (statusOf(target) === 'closed' && (target.close_reason === 'cancelled' || meta.cancelled)) {
      return `held by ${target.id}, which was cancelled`;
    }
  }
  return undefined;
}

/** The error's first line, cut to a length a one-line reason can carry (`ygg dlq show` has it all). */
function firstLine(error: string, max = 120): string {
  const line =
    error
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
