/**
 * A PostgreSQL store's commit in three round trips instead of seven:
 *
 * - open: one simple query of three statements (BEGIN, take the store's write lock, read the
 *   rows newer than the mirror), its two values integers ygg made, written into the text;
 * - close: one statement that frees slots whose lease lapsed, takes a revision, upserts the rows
 *   and notifies (the rows as a parameter);
 * - COMMIT.
 *
 * On a machine with the database and several dispatchers on the same cores each round trip costs
 * two process wake-ups, and the write lock is held across all of them.
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
 * One statement that frees lapsed holders' slots, takes a revision, upserts the rows under it and
 * notifies; COMMIT follows. The rows travel as one JSON parameter: no escaping, and the statement
 * text is the same each time. The freed rows are never the written ones (see slot-release.ts), so
 * the two writes of one statement never touch the same row.
 */
function closeCommitQuery(
  rows: readonly IssueRow[],
  lapsedSlotHolders: readonly string[],
): { text: string; values: unknown[] } {
  return {
    text: `WITH rev AS (SELECT nextval('ygg_revision') AS r),
freed AS (UPDATE ygg_issues SET lease_slot = NULL
  WHERE id = ANY($2::text[]) AND status = 'in_progress' RETURNING 1),
up AS (${upsertRowsSql('$1::jsonb', '(SELECT r FROM rev)')}
  RETURNING id, seq, revision)
SELECT up.id, up.seq, up.revision, pg_notify('${changeChannel}', up.revision::text) AS notified,
  (SELECT count(*) FROM freed) AS freed
FROM up`,
    values: [JSON.stringify(rows), lapsedSlotHolders],
  };
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
  const result = rows.length > 0 ? await client.query(closeCommitQuery(rows, lapsed)) : undefined;
  await client.query('COMMIT');
  for (const row of (result?.rows ?? []) as Array<{ id: string; seq: string; revision: string }>) {
    seqs.set(row.id, Number(row.seq));
    revision = Number(row.revision);
  }
  return { seqs, revision };
}
