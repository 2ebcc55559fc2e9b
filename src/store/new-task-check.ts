/** What every store refuses in a new task before it is queued: one rule for the file and the database. */
import { YggError } from '../errors.js';
import type { NewTask } from './store.js';

/** Why a new task is refused (a YggError with a hint), or undefined. */
export function newTaskProblem(task: NewTask): YggError | undefined {
  if (typeof task.title !== 'string' || task.title.trim() === '') {
    return new YggError('a task needs a title', { hint: 'Pass a non-empty title.' });
  }
  if (Buffer.byteLength(task.title) > 500) {
    return new YggError('the title is longer than 500 bytes', { hint: 'Put the detail in --description.' });
  }
  const p = task.priority;
  if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > 4)) {
    return new YggError(`priority ${p} is outside 0..4`, {
      hint: 'Use 0 (critical), 1, 2 (default), 3 or 4 (backlog).',
    });
  }
  return undefined;
}
