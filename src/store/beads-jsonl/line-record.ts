import type { StoreProblem } from '../store.js';

/** One line of the file as kept in memory: its exact bytes plus a slim index for readiness. */

export type LinkType = 'blocks' | 'conditional-blocks' | 'parent-child' | 'waits-for';

export interface Link {
  type: LinkType;
  target: string;
  /** waits-for only: `all-children` (default) or `any-children`. */
  gate?: 'all-children' | 'any-children';
  /** waits-for only: whose children are waited for (default: the target). */
  spawner?: string;
}

/** What readiness and ordering need from an issue, without keeping the whole object. */
export interface SlimIssue {
  id: string;
  status: string;
  priority: number;
  issueType: string;
  /** `created_at` in microseconds; Infinity when missing or unreadable (sorts last). */
  createdKey: number;
  pinned: boolean;
  ephemeral: boolean;
  /** `defer_until` in milliseconds, when set. */
  deferUntil: number | undefined;
  links: Link[] | undefined;
  /** A key has the wrong shape (reported as `bad-shape`): never ready, never changed by ygg. */
  badShape?: true;
}

export type LineNote = Pick<StoreProblem, 'kind' | 'message' | 'hint' | 'key'>;

export interface LineRecord {
  /** The line's bytes without its `\n`. */
  raw: Buffer;
  /** `issue`: a task; `other`: a non-issue `_type` line; `blank`; `bad`: kept but unreadable. */
  kind: 'issue' | 'other' | 'blank' | 'bad';
  issue?: SlimIssue;
  /** Largest integer comment id on the line, and whether any comment id is a string. */
  maxIntCommentId?: number;
  stringCommentIds?: boolean;
  /** Problems found on this line (file and line number are added when listed). */
  notes?: LineNote[];
}
