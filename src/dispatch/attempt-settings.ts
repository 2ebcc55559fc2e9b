/**
 * An attempt's settings, in one place: the task's own (`metadata.ygg`), its type's (hosts.yaml),
 * its handler plugin's, then the defaults'.
 */
import type { TypeConfig, YggConfig } from '../config/types.js';
import type { Plugin } from '../plugins/api.js';
import { type Task, yggOf } from '../store/task.js';

export interface AttemptSettings {
  /** Soft timeout: the handler's signal aborts. */
  timeoutMs: number | undefined;
  /** Hard timeout: the work is killed and the attempt fails. */
  hardTimeoutMs: number | undefined;
  /** Attempts allowed before the task is dead-lettered. */
  attempts: number;
}

export function attemptSettings(
  task: Task,
  type: TypeConfig,
  plugin: Plugin,
  defaults: YggConfig['defaults'],
): AttemptSettings {
  const meta = yggOf(task);
  return {
    timeoutMs: meta.timeout_ms ?? type.timeoutMs ?? plugin.timeoutMs ?? defaults.timeoutMs,
    hardTimeoutMs:
      meta.hard_timeout_ms ?? type.hardTimeoutMs ?? plugin.hardTimeoutMs ?? defaults.hardTimeoutMs,
    attempts: meta.attempts ?? type.attempts ?? plugin.attempts ?? defaults.attempts,
  };
}
