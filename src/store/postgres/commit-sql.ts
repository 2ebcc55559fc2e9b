/**
 * A PostgreSQL store's commit in two round trips instead of seven, each one simple query of
 * several statements (the server runs them in order and stops at the first error, which leaves
 * the transaction aborted for the caller's ROLLBACK):
 *
 * - open: BEGIN, take the store's write lock, read the rows newer than the mirror;
 * - close: free slots whose lease lapsed, take a revision, upsert the rows, NOTIFY; COMMIT.
 *
 * A batch planned before the lock commits in one trip instead (`commitIfUnchanged`): the same
 * steps in one call of the `ygg_commit` function, written only if what the plan read is
 * unchanged (see batch-commit.ts for when).
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
 * The write: a statement that frees lapsed holders' slots, takes a revision, upserts the rows
 * under it and notifies; with `guard` (an SQL condition), only when the guard holds. The freed
 * rows are never the written ones (see slot-release.ts), so the two writes of one statement never
 * touch the same row.
 */
function writeSql(rows: readonly IssueRow[], lapsedSlotHolders: readonly string[], guard = 'true'): string {
  const rowsJson = `${dollarQuoted(JSON.stringify(rows))}::jsonb`;
  const lapsed = `ARRAY(SELECT jsonb_array_elements_text(${dollarQuoted(JSON.stringify(lapsedSlotHolders))}::jsonb))`;
  return `WITH ok AS (SELECT ${guard} AS ok),
rev AS (SELECT nextval('ygg_revision') AS r FROM ok WHERE ok.ok),
freed AS (UPDATE ygg_issues SET lease_slot = NULL
  WHERE EXISTS (SELECT 1 FROM rev) AND id = ANY(${lapsed}) AND status = 'in_progress' RETURNING 1),
up AS (${upsertRowsSql(rowsJson, '(SELECT r FROM rev)', 'EXISTS (SELECT 1 FROM rev)')}
  RETURNING id, seq, revision)
SELECT up.id, up.seq, up.revision, pg_notify('${changeChannel}', up.revision::text) AS notified,
  (SELECT count(*) FROM freed) AS freed
FROM up`;
}

export interface Written {
  /** Each written row's arrival order, by id. */
  seqs: Map<string, number>;
  /** The revision they share (0: nothing written). */
  revision: number;
}

function writtenBy(result: pg.QueryResult | undefined): Written {
  const seqs = new Map<string, number>();
  let revision = 0;
  for (const row of (result?.rows ?? []) as Array<{ id: string; seq: string; revision: string }>) {
    seqs.set(row.id, Number(row.seq));
    revision = Number(row.revision);
  }
  return { seqs, revision };
}

/** The rows of a batch's writes, and the lapsed leases whose slots they take (see writeSql). */
function rowsOf(
  mirror: IssueMirror,
  writes: ReadonlyMap<string, { task: Task; line: string }>,
  nowMs: number,
  ownerGone: (owner: string) => boolean,
): { rows: IssueRow[]; lapsed: string[] } {
  const tasks = [...writes.values()];
  const lapsed = lapsedSlotHolders(
    mirror,
    tasks.map((w) => w.task),
    nowMs,
    ownerGone,
  );
  return { rows: tasks.map(({ task, line }) => rowOf(task, line)), lapsed };
}

/**
 * Writes a batch's rows (when there are any), freeing first the slots of lapsed leases they take
 * (judged at `nowMs` on the database's clock), and commits: the second trip of a commit opened
 * with `openCommitSql`.
 */
export async function closeCommit(
  client: pg.ClientBase,
  mirror: IssueMirror,
  writes: ReadonlyMap<string, { task: Task; line: string }>,
  nowMs: number,
  ownerGone: (owner: string) => boolean,
): Promise<Written> {
  if (writes.size === 0) {
    await client.query('COMMIT');
    return writtenBy(undefined);
  }
  const { rows, lapsed } = rowsOf(mirror, writes, nowMs, ownerGone);
  const results = await client.query(`${writeSql(rows, lapsed)};\nCOMMIT`);
  return writtenBy(Array.isArray(results) ? results[0] : undefined);
}

/**
 * What a batch planned on the mirror, before the write lock, read of the database: every row
 * (`null`: it read other tasks too), or the rows it names, each with the revision the mirror
 * had of it (`null`: no such row).
 */
export type PlanRead = null | ReadonlyMap<string, number | null>;

/**
 * A whole commit in one round trip, for a batch planned on the mirror without the write lock: one
 * call of `ygg_commit` (migration 6), which takes the lock, returns the rows newer than the mirror
 * (`newer`, for the caller to take in), and writes only if nothing the plan read changed since
 * (`read`; the lapsed leases whose slots it frees were read too). Then the plan is the one the
 * two-trip commit would have made under the lock, and it is written (`written`). Otherwise
 * nothing is, and the caller commits again in two. A named statement: parsed once per
 * connection, and the function's own statements keep their plans for the session.
 */
export async function commitIfUnchanged(
  client: pg.ClientBase,
  mirror: IssueMirror,
  writes: ReadonlyMap<string, { task: Task; line: string }>,
  read: PlanRead,
  nowMs: number,
  ownerGone: (owner: string) => boolean,
): Promise<{ newer: MirrorRow[]; written?: Written }> {
  const revision = whole(mirror.revision, 'a revision');
  const { rows, lapsed } =
    writes.size > 0 ? rowsOf(mirror, writes, nowMs, ownerGone) : { rows: [], lapsed: [] };
  const readAll =
    read && new Map([...read, ...lapsed.map((id) => [id, mirror.revisionOf(id) ?? null] as const)]);
  const result = await client.query<CommitRow>({
    name: 'ygg-commit',
    text: 'SELECT kind, seq, id, line, revision FROM ygg_commit($1, $2, $3, $4)',
    values: [
      revision,
      readAll ? JSON.stringify([...readAll].map(([id, rev]) => ({ id, revision: rev }))) : null,
      lapsed,
      JSON.stringify(rows),
    ],
  });
  const newer: MirrorRow[] = [];
  const seqs = new Map<string, number>();
  let writtenRevision = 0;
  let ok = false;
  for (const row of result.rows) {
    if (row.kind === 'newer') newer.push(row as MirrorRow);
    else if (row.kind === 'written') {
      seqs.set(row.id as string, Number(row.seq));
      writtenRevision = Number(row.revision);
      ok = true;
    } else ok = true;
  }
  return ok ? { newer, written: { seqs, revision: writtenRevision } } : { newer };
}

/** A row `ygg_commit` returns. */
interface CommitRow {
  kind: 'newer' | 'written' | 'ok';
  seq: string | null;
  id: string | null;
  line: string | null;
  revision: string | null;
}

/**
 * True for the database refusing a commit for a slot (two live leases on one, or one past its
 * host's count): a batch planned before the lock on a stale view of the slots is then planned
 * again under it.
 */
export function isSlotConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === '23P01' || code === '23514';
}
