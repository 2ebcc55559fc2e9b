import { randomUUID } from 'node:crypto';
import type { Comment, Task } from '../store/task.js';

/** Comment text kept on the task; longer results live in the attempt's artifact folder. */
export const maxCommentBytes = 8 * 1024;

/**
 * An RFC 3339 UTC time for a write at `now` that is strictly later than `previous` (bd's importer
 * applies a line only when its updated_at moved forward). Whole seconds unless the previous value
 * is in the same second or later, then milliseconds past it.
 */
export function advanceTimestamp(previous: string | undefined, now: number): string {
  const prev = previous ? Date.parse(previous) : Number.NaN;
  const wholeSecond = Math.floor(now / 1000) * 1000;
  if (Number.isNaN(prev) || wholeSecond > prev)
    return new Date(wholeSecond).toISOString().replace('.000Z', 'Z');
  const at = Math.max(now, Math.floor(prev) + 1);
  return new Date(at).toISOString();
}

/** Appends a bd-shaped comment; integer ids when the task's comments use them, else UUIDs. */
export function appendComment(task: Task, author: string, text: string, createdAt: string): Task {
  const comments = task.comments ?? [];
  const usesIntegers = comments.length > 0 && comments.every((c) => typeof c.id === 'number');
  const id = usesIntegers ? Math.max(...comments.map((c) => Number(c.id))) + 1 : randomUUID();
  const comment: Comment = { id, issue_id: task.id, author, text: bound(text), created_at: createdAt };
  return { ...task, comments: [...comments, comment] };
}

function bound(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxCommentBytes) return text;
  const note = '\n… (truncated; the whole output is in the attempt log)';
  return (
    bytes
      .subarray(0, maxCommentBytes - note.length)
      .toString('utf8')
      .replace(/\uFFFD$/, '') + note
  );
}
