/**
 * The PostgreSQL store refuses to overbook a host in the database itself (migration 5): whatever a
 * dispatcher writes, no two live leases hold one slot and no lease holds a slot its host lacks. A
 * slot whose lease lapsed goes to other work, and the lapsed lease is then not renewed.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyChange } from '../../src/dispatch/lifecycle/apply.js';
import type { ClaimChange } from '../../src/dispatch/lifecycle/changes.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { yggOf } from '../../src/store/task.js';
import { startPostgres, type TestPostgres, withClient } from '../helpers/postgres.js';
import { testDir } from '../helpers/tmp.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

/** Writes rows straight into the table, as a dispatcher with a bug (or a hand) would, in one transaction. */
async function writeLeases(
  url: string,
  leases: Array<{ id: string; slot: number; status?: string; lent?: boolean }>,
): Promise<void> {
  await withClient(url, async (client) => {
    await client.query('BEGIN');
    try {
      for (const { id, slot, status = 'in_progress', lent = false } of leases)
        await client.query(
          `INSERT INTO ygg_issues (id, revision, title, status, line, lease_owner, lease_token,
             lease_expires, lease_host, lease_slot, lease_lent)
           VALUES ($1, nextval('ygg_revision'), $1, $2, '{}', 'bug', 1, now() + interval '1 hour', 'surtr', $3, $4)`,
          [id, status, slot, lent],
        );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  });
}

/** A claim of slot 0 of surtr, a 1-slot host, as a loop's runner makes it. */
const claimOfSlot0 = (id: string, owner: string, now: number, leaseMs: number): ClaimChange => ({
  op: 'claim',
  id,
  owner,
  host: 'surtr',
  slot: 0,
  type: 'task',
  hostSlots: 1,
  allHostSlots: true,
  leaseMs,
  now,
});

const rowCount = (url: string) =>
  withClient(url, async (c) => Number((await c.query('SELECT count(*) AS n FROM ygg_issues')).rows[0].n));

describe('the database keeps a host within its slots', () => {
  it('refuses two live leases on one slot, and a slot the host does not have', async () => {
    const url = await server.newDatabase();
    await withClient(url, (c) =>
      c.query(`INSERT INTO ygg_hosts (name, slots, updated_by) VALUES ('surtr', 2, 'test')`),
    );
    await expect(
      writeLeases(url, [
        { id: 'a', slot: 0 },
        { id: 'b', slot: 0 },
      ]),
    ).rejects.toThrow(/ygg_one_lease_per_slot/);
    await expect(writeLeases(url, [{ id: 'c', slot: 2 }])).rejects.toThrow(
      /task c would hold slot 2 of host surtr, which has 2 slot\(s\): that overbooks it/,
    );
    await expect(writeLeases(url, [{ id: 'd', slot: -1 }])).rejects.toThrow(/ygg_lease_slot_index/);
    expect(await rowCount(url)).toBe(0);

    // Allowed: one lease per slot, a lent slot's borrower beside it, and finished tasks' old leases.
    await writeLeases(url, [
      { id: 'a', slot: 0 },
      { id: 'b', slot: 1 },
      { id: 'lent', slot: 0, lent: true },
      { id: 'done', slot: 0, status: 'closed' },
    ]);
    expect(await rowCount(url)).toBe(4);
  });

  it('two stores claiming one slot with stale views: one lease lands, the other claim is declined, nothing fails', async () => {
    const url = await server.newDatabase();
    const dir = await testDir('pg-slot-race');
    const open = () => PostgresStore.open({ url, runtimeDir: join(dir, '.ygg'), pollIntervalMs: 60_000 });
    await using a = await open();
    await using b = await open();
    await withClient(url, (c) =>
      c.query(`INSERT INTO ygg_hosts (name, slots, updated_by) VALUES ('surtr', 1, 'test')`),
    );
    const x = await a.add({ title: 'x' });
    const y = await a.add({ title: 'y' });
    const note = await a.add({ title: 'note' });
    // b catches up, then commits once while a writes beside it: b now knows it is not alone, and
    // plans its next batch before the lock, with claims that leave the slots to the database.
    await b.refresh();
    await a.update(note.id, (t) => ({ ...t, notes: 'from a' }));
    await b.update(note.id, (t) => ({ ...t, notes: `${t.notes} and b` }));
    const now = a.sharedClock.now();
    const claim = (id: string, owner: string) => claimOfSlot0(id, owner, now, 60_000);
    expect(await applyChange(a, claim(x.id, 'loop-a'))).toBeDefined();
    // b has not seen a's claim: its plan takes slot 0 for y, the database refuses that commit, and
    // b plans again under the lock, where a's lease is counted.
    expect(await applyChange(b, claim(y.id, 'loop-b'))).toBeUndefined();
    const leases = await withClient(
      url,
      async (c) =>
        (await c.query<{ id: string }>(`SELECT id FROM ygg_issues WHERE status = 'in_progress'`)).rows,
    );
    expect(leases.map((r) => r.id)).toEqual([x.id]);
    expect(b.get(y.id)?.status).toBe('open');
    expect(b.get(note.id)?.notes).toBe('from a and b');
  });

  it('gives a lapsed lease’s slot to other work through the store, and does not renew the lapsed lease', async () => {
    const url = await server.newDatabase();
    const dir = await testDir('pg-slot-lapsed');
    await using store = await PostgresStore.open({
      url,
      runtimeDir: join(dir, '.ygg'),
      pollIntervalMs: 60_000,
    });
    await withClient(url, (c) =>
      c.query(`INSERT INTO ygg_hosts (name, slots, updated_by) VALUES ('surtr', 1, 'test')`),
    );
    const a = await store.add({ title: 'a' });
    const b = await store.add({ title: 'b' });
    const now = store.sharedClock.now();
    const claim = (id: string, owner: string, at: number) => claimOfSlot0(id, owner, at, 1_000);
    const first = await applyChange(store, claim(a.id, 'loop-1', now - 5_000));
    expect(first).toBeDefined(); // its lease lapsed 4 s ago
    expect(await applyChange(store, claim(b.id, 'loop-2', now))).toBeDefined();
    const slots = await withClient(url, async (c) =>
      (
        await c.query<{ id: string; lease_slot: number | null }>('SELECT id, lease_slot FROM ygg_issues')
      ).rows.map((r): [string, number | null] => [r.id, r.lease_slot]),
    );
    expect(new Map(slots)).toEqual(
      new Map([
        [a.id, null],
        [b.id, 0],
      ]),
    );
    // loop-1 comes back and tries to renew a's lapsed lease: its slot runs b now.
    const token = yggOf(first!).lease!.token;
    expect(await applyChange(store, { op: 'renew', id: a.id, token, leaseMs: 1_000, now })).toBeUndefined();
  });
});
