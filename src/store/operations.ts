/**
 * Beads-generic helpers for changes to an issue: comments in bd's shape, bounded in size. A
 * task's state (claims, leases, outcomes) is written only by the dispatcher's lifecycle module.
 */
import { randomUUID } from 'node:crypto';
import type { Mutation, MutationContext } from './store.js';
import type { Comment, Task } from './task.js';
import { nextTimestamp } from './timestamps.js';

/** Comments longer than this are cut (results can be huge; the line must stay readable). */
export const maxCommentBytes = 16 * 1024;

/** A comment in bd's shape; the text is cut to `maxCommentBytes`. */
export function makeComment(
  task: Task,
  author: string,
  text: string,
  createdAt: string,
  context?: MutationContext,
): Comment {
  return {
    id: context?.newCommentId() ?? randomUUID(),
    issue_id: task.id,
    author,
    text: boundText(text),
    created_at: createdAt,
  };
}

export function boundText(text: string, max = maxCommentBytes): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  const marker = `\n… [cut: ${bytes.length - max} more bytes]`;
  // Cut on a character boundary: decode and drop a trailing partial character.
  return (
    bytes
      .subarray(0, max)
      .toString('utf8')
      .replace(/\uFFFD$/, '') + marker
  );
}

export interface CommentOptions {
  author: string;
  text: string;
  now?: Date;
}

/** Adds a comment (bd's shape: integer ids where the file uses them, else a UUID). */
export function addComment(options: CommentOptions): Mutation {
  return (task, context) => {
    const stamp = nextTimestamp(task.updated_at, options.now ?? new Date());
    const comment = makeComment(task, options.author, options.text, stamp, context);
    return { ...task, comments: [...(task.comments ?? []), comment], updated_at: stamp };
  };
}
