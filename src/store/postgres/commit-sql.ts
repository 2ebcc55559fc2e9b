/**
 * A PostgreSQL store's commit in two round trips instead of seven, each one simple query of
 * several statements (the server runs them in order and stops at the first error, which leaves
 * the transaction aborted for the caller's ROLLBACK):
 *
 * - open: BEGIN, take the store's write lock, read the rows newer than the mirror;
 * - close: free slots whose lease lapsed, take a revision, upsert the rows, NOTIFY; COMMIT.
 *
 * The simple protocol has no parameters. What goes into the text is whole numbers ygg made, and
 * JSON in dollar quotes (`dollarQuoted`), which PostgreSQL reads as it is. On a machine with the
 * database and several dispatchers on the same cores, each round trip costs two process wake-ups,
 * and the write lock is held across all of them.
 */
import type pg from 'pg';
import type { Task } from '../task.js';
import type { IssueMirror, MirrorRow } from './mirror.js';
import { changeChannel, type IssueRow, rowOf, upsertRowsSql, writeLockKey } from './rows.js';
import { lapsedSlotHolders } from './slot-release.js';

type Results = pg.QueryResult | pg.QueryResult[];

const whole = (n: number, what: string): number => {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a whole number, not ${n}`);
  return n;
};

/** BEGIN, the write lock, and the rows newer than `revision`. */
export function openCommitSql(revision: number): string {
  return [
    'BEGIN',
    `SELECT pg_advisory_xact_lock(${whole(writeLockKey, 'the lock key')})`,
    `SELECT seq, id, line, revision FROM ygg_issues WHERE revision > ${whole(revision, 'a revision')} ORDER BY seq`,
  ].join(';\n');
}

/** The rows an open's result read (its last statement). */
export function openedRows(results: Results): MirrorRow[] {
  const all = Array.isArray(results) ? results : [results];
  return (all[all.length - 1]?.rows ?? []) as MirrorRow[];
}

/**
 * `text` as an SQL string constant in dollar quotes: nothing inside is escaped or read as
 * anything but text, so the rows go as they are, with no per-character work (the driver's
 * `escapeLiteral` cost more than the round trip it saved). The tag is one the text lacks.
 */
export function dollarQuoted(text: string): string {
  let n = 0;
  // Not even the tag without its last `$`: text ending in `$ygg0` would meet the closing tag's `$`.
  while (text.includes(`$ygg${n}`)) n += 1;
  return `$ygg${n}$${text}$ygg${n}$`;
}

/**
 * One simple query: a statement that frees lapsed holders' slots, takes a revision, upserts the
 * rows under it and notifies, then COMMIT. A failure stops it before COMMIT, with the transaction
 * aborted for the caller's ROLLBACK. The freed rows are never the written ones (see
 * slot-release.ts), so the two writes of one statement never touch the same row.
 */
function closeCommitSql(rows: readonly IssueRow[], lapsedSlotHolders: readonly string[]): string {
  const rowsJson = `${dollarQuoted(JSON.stringify(rows))}::jsonb`;
  const lapsed = `ARRAY(SELECT jsonb_array_elements_text(${dollarQuoted(JSON.stringify(lapsedSlotHolders))}::jsonb))`;
  return `WITH rev AS (SELECT nextval('ygg_revision') AS r),
freed AS (UPDATE ygg_issues SET lease_slot = NULL
  WHERE id = ANY(${lapsed}) AND status = 'in_progress' RETURNING 1),
up AS (${upsertRowsSql(rowsJson, '(SELECT r FROM rev)')}
  RETURNING id, seq, revision)
SELECT up.id, up.seq, up.revision, pg_notify('${changeChannel}', up.revision::text) AS notified,
  (SELECT count(*) FROM freed) AS freed
FROM up;
COMMIT`;
}

/**
 * Writes a batch's rows (when there are any), freeing first the slots of lapsed leases they take
 * (judged at `nowMs` on the database's clock), and commits; returns each row's arrival order and
 * the revision they share (0: nothing written).
 */
export async function closeCommit(
  client: pg.ClientBase,
  mirror: IssueMirror,
  writes: ReadonlyMap<string, { task: Task; line: string }>,
  nowMs: number,
  ownerGone: (owner: string) => boolean,
): Promise<{ seqs: Map<string, number>; revision: number }> {
  const seqs = new Map<string, number>();
  let revision = 0;
  const tasks = [...writes.values()];
  const lapsed = lapsedSlotHolders(
    mirror,
    tasks.map((w) => w.task),
    nowMs,
    ownerGone,
  );
  const rows = tasks.map(({ task, line }) => rowOf(task, line));
  const results = await client.query(rows.length > 0 ? closeCommitSql(rows, lapsed) : 'COMMIT');
  const written = Array.isArray(results) ? results[0] : undefined;
  for (const row of (written?.rows ?? []) as Array<{ id: string; seq: string; revision: string }>) {
    seqs.set(row.id, Number(row.seq));
    revision = Number(row.revision);
  }
  return { seqs, revision };
}
