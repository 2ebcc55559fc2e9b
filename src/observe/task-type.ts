import { classifyType } from '../config/type-rules.js';
import type { YggConfig } from '../config/types.js';
import { type Task, yggOf } from '../store/task.js';

/**
 * The type a task is shown as, everywhere (`list`, `show`, the monitor, the web view): the type
 * its latest attempt ran as, which is what the loop's rules said and what `ygg stats` counted;
 * for a task that never ran, what the type rules found for this command say now. Without the
 * first, a store run with another hosts.yaml (`--config`) showed its tasks as `general`.
 */
export function taskType(
  task: Task,
  config?: Pick<YggConfig, 'typeRules' | 'issueTypeMap'> & Partial<Pick<YggConfig, 'types'>>,
): string {
  const ranAs = yggOf(task).history?.findLast((attempt) => attempt.type !== undefined)?.type;
  if (ranAs !== undefined) return ranAs;
  return config ? classifyType(task, config) : classifyType(task);
}
