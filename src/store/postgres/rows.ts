/** The columns of one issue row, derived from the task (the line stays the source of truth). */
import { type Task, yggOf } from '../task.js';
import { isPlainObject } from '../task-shape.js';
import { parseMicros } from '../timestamps.js';

export interface IssueRow {
  id: string;
  title: string;
  description: string | null;
  status: string;
  priority: number | null;
  issue_type: string | null;
  assignee: string | null;
  labels: unknown;
  dependencies: unknown;
  comments: unknown;
  created_at: string | null;
  updated_at: string | null;
  closed_at: string | null;
  metadata: unknown;
  line: string;
  lease_owner: string | null;
  lease_token: number | null;
  lease_expires: string | null;
  lease_host: string | null;
  lease_slot: number | null;
  lease_type: string | null;
  lease_lent: boolean;
}

/**
 * PostgreSQL's text and jsonb cannot hold NUL (U+0000); Beads' JSON can. The columns are an
 * index of the line, which keeps the character: in them it reads as U+FFFD.
 */
const nul = /\u0000/g;
function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(nul, '\uFFFD');
  if (Array.isArray(value)) return value.map(withoutNul);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(nul, '\uFFFD'), withoutNul(v)]));
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const int = (value: unknown): number | null => (Number.isInteger(value) ? (value as number) : null);
const time = (value: unknown): string | null => {
  const micros = parseMicros(value);
  return micros === undefined ? null : new Date(Math.floor(micros / 1000)).toISOString();
};
const json = (value: unknown): unknown => (value === undefined ? null : value);

/** A task's columns; a value of the wrong shape is left out of its column (the line keeps it). */
export function rowOf(task: Task, line: string): IssueRow {
  // The line writes a NUL as the escape \u0000 (a raw one is not JSON).
  if (line.includes('\\u0000')) return rowOfTask(withoutNul(task) as Task, line);
  return rowOfTask(task, line);
}

function rowOfTask(task: Task, line: string): IssueRow {
  const lease = isPlainObject(task.metadata) ? yggOf(task).lease : undefined;
  return {
    id: task.id,
    title: typeof task.title === 'string' ? task.title : '',
    description: text(task.description),
    status: typeof task.status === 'string' && task.status !== '' ? task.status : 'open',
    priority: int(task.priority),
    issue_type: text(task.issue_type),
    assignee: text(task.assignee),
    labels: json(task.labels),
    dependencies: json(task.dependencies),
    comments: json(task.comments),
    created_at: time(task.created_at),
    updated_at: time(task.updated_at),
    closed_at: time(task.closed_at),
    metadata: json(task.metadata),
    line,
    lease_owner: text(lease?.owner),
    lease_token: int(lease?.token),
    lease_expires: time(lease?.expires),
    lease_host: text(lease?.host),
    lease_slot: int(lease?.slot),
    lease_type: text(lease?.type),
    lease_lent: lease?.lent === true,
  };
}

/**
 * One statement that writes many rows: the rows travel as one JSON array (`rowsJson`, an SQL
 * expression of type jsonb) and are upserted by id, all with the same revision (`revision`, an
 * SQL expression); with `where` (an SQL condition), only when it holds.
 */
export function upsertRowsSql(rowsJson: string, revision: string, where = 'true'): string {
  return `
INSERT INTO ygg_issues AS i (id, revision, title, description, status, priority, issue_type, assignee,
  labels, dependencies, comments, created_at, updated_at, closed_at, metadata, line,
  lease_owner, lease_token, lease_expires, lease_host, lease_slot, lease_type, lease_lent)
SELECT r.id, ${revision}, r.title, r.description, r.status, r.priority, r.issue_type, r.assignee,
  r.labels, r.dependencies, r.comments, r.created_at, r.updated_at, r.closed_at, r.metadata, r.line,
  r.lease_owner, r.lease_token, r.lease_expires, r.lease_host, r.lease_slot, r.lease_type, r.lease_lent
FROM jsonb_to_recordset(${rowsJson}) AS r(id text, title text, description text, status text,
  priority integer, issue_type text, assignee text, labels jsonb, dependencies jsonb, comments jsonb,
  created_at timestamptz, updated_at timestamptz, closed_at timestamptz, metadata jsonb, line text,
  lease_owner text, lease_token bigint, lease_expires timestamptz, lease_host text, lease_slot integer,
  lease_type text, lease_lent boolean)
WHERE ${where}
ON CONFLICT (id) DO UPDATE SET revision = EXCLUDED.revision, title = EXCLUDED.title,
  description = EXCLUDED.description, status = EXCLUDED.status, priority = EXCLUDED.priority,
  issue_type = EXCLUDED.issue_type, assignee = EXCLUDED.assignee, labels = EXCLUDED.labels,
  dependencies = EXCLUDED.dependencies, comments = EXCLUDED.comments, created_at = EXCLUDED.created_at,
  updated_at = EXCLUDED.updated_at, closed_at = EXCLUDED.closed_at, metadata = EXCLUDED.metadata,
  line = EXCLUDED.line, lease_owner = EXCLUDED.lease_owner, lease_token = EXCLUDED.lease_token,
  lease_expires = EXCLUDED.lease_expires, lease_host = EXCLUDED.lease_host,
  lease_slot = EXCLUDED.lease_slot, lease_type = EXCLUDED.lease_type, lease_lent = EXCLUDED.lease_lent`;
}

/** The upsert with its rows as parameter $1 (JSON text) and its revision as $2. */
export const upsertRows = upsertRowsSql('$1::jsonb', '$2');

/** Serialises every write to the store (an arbitrary constant: 'yggw'): see postgres-store.ts. */
export const writeLockKey = 0x79676777;
/** The channel a commit notifies, with its revision as the payload. */
export const changeChannel = 'ygg_changes';
/** The channel a change of shared settings (pause, drained hosts) notifies, with the key. */
export const settingsChannel = 'ygg_settings';
