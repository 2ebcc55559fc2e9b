/**
 * One batch of a PostgreSQL store's writes, committed in one round trip when a plan made before
 * the write lock still holds, else in two with the plan made under the lock (commit-sql.ts).
 * With several dispatchers on one database the lock is what they queue for, and a two-trip commit
 * holds it across two wake-ups of the dispatcher's process; a one-trip commit holds it only while
 * the server runs the statement.
 *
 * A plan made before the lock, on the mirror:
 * - one that read only the rows its changes name holds unless one of them changed since: the
 *   common case for outcomes, renewals and claims, whatever the other dispatchers do;
 * - one that read more (other tasks' leases for a type's cap or a rate limit, every id for an
 *   add) holds only if no row changed at all, so it is tried only when nobody else wrote at the
 *   last commit;
 * - claims in it do not count the other tasks' leases: the database refuses two live leases on
 *   one slot and a slot past its host's count (migration 5), and a commit it refuses is planned
 *   again under the lock, where they are counted.
 */
import type pg from 'pg';
import { type BatchEnv, type BatchOp, type BatchPlan, planBatch } from './batch-plan.js';
import {
  closeCommit,
  commitIfUnchanged,
  isSlotConflict,
  openCommitSql,
  openedRows,
  type Written,
} from './commit-sql.js';
import type { IssueMirror, MirrorRow } from './mirror.js';

export interface BatchCommitEnv extends Omit<BatchEnv, 'slotsGuarded'> {
  /** Now on the store's clock (the database's), for lapsed leases. */
  now(): number;
  ownerGone(owner: string): boolean;
  /** Other writers' rows read on the way: into the mirror, and told to the listeners. */
  takeIn(rows: readonly MirrorRow[]): void;
}

export class BatchCommitter {
  /** No other writer's rows came in at the last commit: a plan that read more may go first. */
  #alone = true;

  constructor(readonly mirror: IssueMirror) {}

  /** Commits `ops`; resolves with the plan written and what the database said of it. */
  async commit(
    client: pg.ClientBase,
    ops: readonly BatchOp[],
    env: BatchCommitEnv,
  ): Promise<{ plan: BatchPlan; written: Written }> {
    // Alone from here on while this commit reads no other writer's rows.
    let othersRows = 0;
    const takeIn = (rows: readonly MirrorRow[]) => {
      othersRows += rows.length;
      env.takeIn(rows);
    };
    // A plan refused because a row it named changed is made again on the rows the refusal
    // brought in, and tried once more in one trip: the two-trip commit holds the write lock
    // across two round trips, and every other dispatcher's commit waits behind it.
    for (let tries = 0; tries < aheadTries; tries += 1) {
      // A second try is never "alone": something changed, even if no newer row came with it.
      const alone = this.#alone && othersRows === 0 && tries === 0;
      const ahead = await this.#commitAhead(client, ops, { ...env, takeIn }, alone);
      if (ahead.kind === 'written') {
        this.#alone = othersRows === 0;
        return ahead;
      }
      if (ahead.kind !== 'changed') break;
    }
    const opened = openedRows(await client.query(openCommitSql(this.mirror.revision)));
    takeIn(opened);
    this.#alone = othersRows === 0;
    const plan = planBatch(this.mirror, ops, env);
    const written = await closeCommit(client, this.mirror, plan.writes, env.now(), env.ownerGone);
    return { plan, written };
  }

  /**
   * One try of a one-trip commit: `written`, or why not: `skipped` (its plan would not hold among
   * other writers), `changed` (a row it read changed: the newer rows are in the mirror now),
   * `conflict` (the database refused a slot its stale view gave out).
   */
  async #commitAhead(
    client: pg.ClientBase,
    ops: readonly BatchOp[],
    env: BatchCommitEnv,
    alone: boolean,
  ): Promise<
    { kind: 'written'; plan: BatchPlan; written: Written } | { kind: 'skipped' | 'changed' | 'conflict' }
  > {
    // An add reads every id: among other writers its plan would not hold, so it is not made twice.
    if (!alone && ops.some((op) => op.kind === 'add')) return { kind: 'skipped' };
    const plan = planBatch(this.mirror, ops, { ...env, slotsGuarded: true });
    if (plan.readOthers && !alone) return { kind: 'skipped' };
    // Alone, "no row changed" is the cheaper check (one index probe), and it holds.
    const read =
      plan.readOthers || alone
        ? null
        : new Map([...plan.named].map((id) => [id, this.mirror.revisionOf(id) ?? null]));
    try {
      const tried = await commitIfUnchanged(client, this.mirror, plan.writes, read, env.now(), env.ownerGone);
      env.takeIn(tried.newer);
      return tried.written ? { kind: 'written', plan, written: tried.written } : { kind: 'changed' };
    } catch (error) {
      // The call was its own transaction, and the refusal ended it.
      if (!isSlotConflict(error)) throw error;
      return { kind: 'conflict' };
    }
  }
}

/** One-trip tries before a commit is made under the lock in two. */
const aheadTries = 2;
