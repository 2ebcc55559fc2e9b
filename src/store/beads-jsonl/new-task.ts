import type { NewTask } from '../store.js';
import type { Task } from '../task.js';
import { bdOrder } from './key-order.js';

/** A new issue line's object, keys in bd's order (bd rejects unknown `issue_type`s, so default `task`). */
export function buildNewTask(id: string, input: NewTask, createdAt: string): Task {
  const task: Record<string, unknown> = {
    id,
    title: input.title,
    description: input.description || undefined,
    design: input.design || undefined,
    acceptance_criteria: input.acceptance_criteria || undefined,
    status: 'open',
    priority: input.priority ?? 2,
    issue_type: input.issue_type || 'task',
    assignee: input.assignee || undefined,
    owner: input.owner || undefined,
    created_at: createdAt,
    created_by: input.created_by || undefined,
    updated_at: createdAt,
    metadata: input.metadata && Object.keys(input.metadata).length > 0 ? input.metadata : undefined,
    labels: input.labels && input.labels.length > 0 ? [...new Set(input.labels)].sort() : undefined,
    dependencies:
      input.dependencies && input.dependencies.length > 0
        ? input.dependencies.map((d) => ({
            issue_id: id,
            depends_on_id: d.depends_on_id,
            type: d.type,
            created_at: createdAt,
            ...(input.created_by ? { created_by: input.created_by } : {}),
          }))
        : undefined,
  };
  const ordered: Record<string, unknown> = {};
  for (const key of bdOrder(Object.keys(task).filter((k) => task[k] !== undefined))) ordered[key] = task[key];
  return ordered as Task;
}
