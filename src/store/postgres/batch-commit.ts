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
    const ahead = await this.#commitAhead(client, ops, { ...env, takeIn });
    if (ahead) {
      this.#alone = othersRows === 0;
      return ahead;
    }
    const opened = openedRows(await client.query(openCommitSql(this.mirror.revision)));
    takeIn(opened);
    this.#alone = othersRows === 0;
    const plan = planBatch(this.mirror, ops, env);
    const written = await closeCommit(client, this.mirror, plan.writes, env.now(), env.ownerGone);
    return { plan, written };
  }

  async #commitAhead(
    client: pg.ClientBase,
    ops: readonly BatchOp[],
    env: BatchCommitEnv,
  ): Promise<{ plan: BatchPlan; written: Written } | undefined> {
    // An add reads every id: among other writers its plan would not hold, so it is not made twice.
    if (!this.#alone && ops.some((op) => op.kind === 'add')) return undefined;
    const plan = planBatch(this.mirror, ops, { ...env, slotsGuarded: true });
    if (plan.readOthers && !this.#alone) return undefined;
    // Alone, "no row changed" is the cheaper check (one index probe), and it holds.
    const read =
      plan.readOthers || this.#alone
        ? null
        : new Map([...plan.named].map((id) => [id, this.mirror.revisionOf(id) ?? null]));
    try {
      const tried = await commitIfUnchanged(client, this.mirror, plan.writes, read, env.now(), env.ownerGone);
      env.takeIn(tried.newer);
      return tried.written ? { plan, written: tried.written } : undefined;
    } catch (error) {
      // The call was its own transaction, and the refusal ended it.
      if (!isSlotConflict(error)) throw error;
      return undefined;
    }
  }
}
