/**
 * Fast takeover on a PostgreSQL store, at the store: a loop holds a session lock keyed by its
 * lease owner; when its session ends (the process died) the other stores count its leases as
 * lapsed long before they expire, and say so as a change of its tasks. A database restart, or an
 * owner that never held a lock, leaves the leases alone. The owners are named as loops on other
 * machines, so only the lock can tell whether they are alive.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyChange } from '../../src/dispatch/lifecycle/apply.js';
import { ownerKey, ownerLockSpace } from '../../src/store/postgres/owner-locks.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { StoreChange } from '../../src/store/store.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const far = 'far-machine:4242:1700000000000';
const near = 'near-machine:77:1700000000001';

const open = async (url: string, dir: string) =>
  PostgresStore.open({
    url,
    runtimeDir: join(dir, '.ygg'),
    pollIntervalMs: 60_000,
    // A second of settling after our own session (re)starts, instead of five: a shorter test.
    ownerLocks: { settleMs: 1000 },
  });

const claimAs = (store: PostgresStore, id: string, owner: string) =>
  applyChange(store, {
    op: 'claim',
    id,
    owner,
    host: 'gpu1',
    slot: 0,
    type: 'work',
    hostSlots: 4,
    leaseMs: 120_000,
    now: Date.now(),
  });

const nextChange = (store: PostgresStore, match: (c: StoreChange) => boolean) =>
  new Promise<StoreChange>((resolve) => {
    const stop = store.watch((change) => {
      if (!match(change)) return;
      stop();
      resolve(change);
    });
  });

/** Waits until `store` has looked at the locks `n` more times with its session settled. */
const settledLooks = (store: PostgresStore, n: number) => {
  const from = store.ownerLocks.trustedObservations;
  return waitUntil(() => store.ownerLocks.trustedObservations >= from + n || undefined, {
    what: `${n} settled looks at the owner locks`,
  });
};

async function lockHeld(url: string, owner: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted`,
      [ownerLockSpace, ownerKey(owner)],
    );
    return rows.rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('owner locks on a PostgreSQL store', () => {
  it('a loop whose session ended: its lease counts as lapsed long before it expires, and its task is claimed', async () => {
    const dir = await testDir('pg-owner-gone');
    const url = await server.newDatabase();
    const a = await open(url, dir);
    await using b = await open(url, dir);
    a.holdOwner(far);
    b.holdOwner(near);
    const task = await a.add({ title: 'long work' });
    const claimed = (await claimAs(a, task.id, far)) as Task;
    expect(claimed.status).toBe('in_progress');
    await waitUntil(() => b.ownerLocks.seen(far) || undefined, { what: "b to see a's lock" });
    await waitUntil(async () => (await b.refresh()) ?? b.statusOf(task.id) === 'in_progress', {
      what: 'b to see the claim',
    });
    expect(await claimAs(b, task.id, near), 'a live lease').toBeUndefined();

    const told = nextChange(b, (c) => c.external && c.changed.includes(task.id));
    await a.close(); // its session ends, as a killed process's would
    await told;
    expect(b.ownerGone(far)).toBe(true);
    const lease = yggOf(b.get(task.id) as Task).lease;
    expect(Date.parse(lease?.expires ?? '') - Date.now(), 'the lease has not expired').toBeGreaterThan(
      60_000,
    );
    const taken = (await claimAs(b, task.id, near)) as Task;
    expect(yggOf(taken).lease?.owner).toBe(near);
    expect(yggOf(taken).history?.map((h) => h.outcome)).toEqual(['lost', undefined]);
  });

  it('the database restarting: every loop takes its lock again and no lease is taken', async () => {
    const dir = await testDir('pg-owner-restart');
    const url = await server.newDatabase();
    await using a = await open(url, dir);
    await using b = await open(url, dir);
    a.holdOwner(far);
    b.holdOwner(near);
    const task = await a.add({ title: 'long work' });
    await claimAs(a, task.id, far);
    await waitUntil(() => b.ownerLocks.seen(far) || undefined, { what: "b to see a's lock" });
    await waitUntil(async () => (await b.refresh()) ?? b.statusOf(task.id) === 'in_progress', {
      what: 'b to see the claim',
    });
    let goneAtSomePoint = false;
    const stop = b.watch(() => {
      if (b.ownerGone(far)) goneAtSomePoint = true;
    });

    await server.restart();
    await waitUntil(() => lockHeld(url, far), { what: 'a to take its lock again', timeoutMs: 60_000 });
    // b's own session is back and settled, and it looked several times since.
    await waitUntil(() => b.ownerLocks.trustedObservations >= 8 || undefined, {
      what: 'b to look at the locks again, settled',
      timeoutMs: 60_000,
    });
    stop();
    expect(goneAtSomePoint).toBe(false);
    expect(b.ownerGone(far)).toBe(false);
    await waitUntil(
      () =>
        b.refresh().then(
          () => true,
          () => false,
        ),
      { what: 'b to reconnect' },
    );
    expect(await claimAs(b, task.id, near), "a's lease still holds").toBeUndefined();
  }, 90_000);

  it('an owner never seen holding a lock (an older ygg) keeps its task until its lease expires', async () => {
    const dir = await testDir('pg-owner-unseen');
    const url = await server.newDatabase();
    await using a = await open(url, dir);
    await using b = await open(url, dir);
    b.holdOwner(near);
    const task = await a.add({ title: 'long work' });
    await claimAs(a, task.id, far); // `far` holds no lock
    await waitUntil(async () => (await b.refresh()) ?? b.statusOf(task.id) === 'in_progress', {
      what: 'b to see the claim',
    });
    await settledLooks(b, 4);
    expect(b.ownerLocks.seen(far)).toBe(false);
    expect(b.ownerGone(far)).toBe(false);
    expect(await claimAs(b, task.id, near)).toBeUndefined();
  });
});
