import type { YggConfig } from '../config/types.js';
import { taskType } from '../observe/task-type.js';
import { dependenciesOf, labelsOf, priorityOf, statusOf, type Task } from '../store/task.js';
import { cell, noteWidth, titleWidth } from '../text/cell.js';

/**
 * A task as `--json` prints it: every key of the line, plus its ygg `type`; in `ygg list` its
 * `state` when the status alone misleads (`dead`, `held`, `waiting`, `deferred`) and why it is
 * not running (`waiting`, with the kind of hold and, with several loops, the loop that said so).
 */
export type TaskView = Task & {
  type: string;
  state?: string;
  waiting?: string;
  waiting_kind?: string;
  waiting_loop?: string;
};

export function viewOf(task: Task, config?: Pick<YggConfig, 'typeRules' | 'issueTypeMap'>): TaskView {
  return { ...task, type: taskType(task, config) };
}

/**
 * One line of `ygg list`: id, priority, status, type, title (and why it waits, when known); the
 * free text cut to a width, so a 5 MB title is one short line (`show` and `--json` keep it all).
 */
export function taskRow(task: TaskView): string {
  const row = [
    task.id,
    `P${priorityOf(task)}`,
    task.state ?? statusOf(task),
    cell(task.type, noteWidth),
    cell(String(task.title ?? ''), titleWidth),
  ].join('\t');
  return task.waiting ? `${row}\t(${cell(task.waiting, noteWidth)})` : row;
}

/** `ygg show` without --json: the fields people read, then description and comments. */
export function taskText(task: TaskView): string {
  const lines = [
    `${task.id}  ${task.title}`,
    `status: ${statusOf(task)}   priority: P${priorityOf(task)}   type: ${task.type}   issue_type: ${task.issue_type ?? 'task'}`,
  ];
  if (task.assignee) lines.push(`assignee: ${task.assignee}`);
  if (labelsOf(task).length) lines.push(`labels: ${labelsOf(task).join(', ')}`);
  if (task.created_at)
    lines.push(`created: ${task.created_at}${task.created_by ? ` by ${task.created_by}` : ''}`);
  if (task.updated_at) lines.push(`updated: ${task.updated_at}`);
  if (task.closed_at)
    lines.push(`closed: ${task.closed_at}${task.close_reason ? ` (${task.close_reason})` : ''}`);
  for (const dep of dependenciesOf(task)) lines.push(`depends on ${dep.depends_on_id} (${dep.type})`);
  if (task.metadata !== undefined) lines.push(`metadata: ${JSON.stringify(task.metadata)}`);
  if (task.description) lines.push('', task.description);
  for (const c of task.comments ?? []) lines.push('', `— ${c.author} at ${c.created_at}:`, c.text);
  return lines.join('\n');
}
