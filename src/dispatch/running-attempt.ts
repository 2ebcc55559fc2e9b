/** One attempt of this loop while it runs: what the monitor, the status server and the runner see. */
import type { Plugin } from '../plugins/api.js';
import type { Slot } from '../schedule/slots.js';
import type { Task } from '../store/task.js';
import type { AttemptControl } from './attempt.js';

export interface RunningAttempt {
  task: Task;
  type: string;
  host: string;
  /** The slot it holds now (another index after it lent its slot and took one back). */
  slot: Slot;
  token: number;
  attempt: number;
  plugin: Plugin;
  control: AttemptControl;
  startedAt: number;
  progress?: string;
  fraction?: number;
}
