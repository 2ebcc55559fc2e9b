import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportIssues, importIssues } from '../../src/store/postgres/bridge.js';
import { migrate } from '../../src/store/postgres/migrate.js';
import { migrations } from '../../src/store/postgres/migrations/index.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { redactUrl } from '../../src/store/postgres/url.js';
import type { StoreChange } from '../../src/store/store.js';
import type { Task } from '../../src/store/task.js';
import { startPostgres, type TestPostgres, withClient } from '../helpers/postgres.js';
import { testDir } from '../helpers/tmp.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const open = async (url: string, dir: string) =>
  PostgresStore.open({ url, runtimeDir: join(dir, '.ygg'), pollIntervalMs: 60_000 });

/** Adds one to a task's `metadata.n`: a change that loses an update if planned on a stale row. */
const bump = (t: Task) => ({ ...t, metadata: { n: ((t.metadata as { n: number }).n ?? 0) + 1 } });

/** Resolves with the first change a store's watcher reports that satisfies `match`. */
const nextChange = (store: PostgresStore, match: (c: StoreChange) => boolean) =>
  new Promise<StoreChange>((resolve) => {
    const stop = store.watch((change) => {
      if (!match(change)) return;
      stop();
      resolve(change);
    });
  });

/**
 * Store b plans a change on its copy, which has not caught up with a's last write: the change is
 * given the database's state under the lock (b's one-trip commit, planned alone, is refused).
 */
async function expectMutationSeesDatabase(url: string, dir: string): Promise<void> {
  await using a = await open(url, dir);
  await using b = await open(url, dir);
  const one = await a.add({ title: 'one' });
  const two = await a.add({ title: 'two' });
  await b.refresh();
  await a.update(one.id, (t) => ({ ...t, status: 'in_progress' }));
  let running: string[] = [];
  await b.update(two.id, (t, context) => {
    running = [...(context?.tasks(['in_progress']) ?? [])].map((x) => x.id);
    return t;
  });
  expect(running).toEqual([one.id]);
}

describe('PostgreSQL store', () => {
  it('adds and updates durably; a second store on the database sees them through NOTIFY', async () => {
    const dir = await testDir('pg-basic');
    const url = await server.newDatabase();
    await using a = await open(url, dir);
    await using b = await open(url, dir);
    const seen = nextChange(b, (c) => c.external && c.added.length > 0);
    const task = await a.add({ title: 'first', priority: 1, labels: ['x'] });
    expect(task.id).toMatch(/^ygg-[0-9a-z]{4,}$/);
    expect((await seen).added).toEqual([task.id]);
    expect(b.get(task.id)?.title).toBe('first');
    expect(b.ready().map((t) => t.id)).toEqual([task.id]);

    const changed = nextChange(b, (c) => c.external && c.changed.includes(task.id));
    const written = await a.update(task.id, (t) => ({ ...t, status: 'closed', close_reason: 'done' }));
    expect(written?.status).toBe('closed');
    await changed;
    expect(b.statusOf(task.id)).toBe('closed');
    expect(b.ready()).toEqual([]);
    // The columns follow the line.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const row = await client.query('SELECT status, priority, labels, line FROM ygg_issues WHERE id = $1', [
      task.id,
    ]);
    await client.end();
    expect(row.rows[0]).toMatchObject({ status: 'closed', priority: 1, labels: ['x'] });
    expect(JSON.parse(row.rows[0].line).close_reason).toBe('done');
  });

  it('writes any text as it is: quotes, backslashes, dollar quotes and SQL in a task come back byte for byte', async () => {
    const dir = await testDir('pg-hostile-text');
    const url = await server.newDatabase();
    await using a = await open(url, dir);
    await using b = await open(url, dir);
    const title = `it's "quoted" \\ $$ $ygg0$ $ygg1$'); DROP TABLE ygg_issues; -- ✓`;
    const description = 'line one\nline two\ttab $ygg0$::jsonb; COMMIT; SELECT 1';
    const seen = nextChange(b, (c) => c.external && c.added.length > 0);
    const task = await a.add({ title, description, labels: ["o'neil", '$ygg0$', 'ends $ygg1'] });
    await seen;
    const back = b.get(task.id);
    expect(back?.title).toBe(title);
    expect(back?.description).toBe(description);
    expect([...(back?.labels ?? [])].sort()).toEqual(['$ygg0$', 'ends $ygg1', "o'neil"]);
    const written = await b.update(task.id, (t) => ({ ...t, notes: '$ygg2$ and $ygg0$' }));
    expect(written?.notes).toBe('$ygg2$ and $ygg0$');
    expect(b.list().map((t) => t.id)).toEqual([task.id]);
  });

  it('keeps a NUL character (\\u0000) in any field: jsonb cannot hold one, the issue’s line does', async () => {
    const dir = await testDir('pg-nul');
    const url = await server.newDatabase();
    await using a = await open(url, dir);
    await using b = await open(url, dir);
    const title = 'before\u0000after';
    const seen = nextChange(b, (c) => c.external && c.added.length > 0);
    const task = await a.add({
      title,
      description: '\u0000',
      labels: ['nul\u0000label'],
      metadata: { 'key\u0000': ['value\u0000'] },
    });
    await seen;
    const back = b.get(task.id);
    expect(back?.title).toBe(title);
    expect(back?.description).toBe('\u0000');
    expect(back?.labels).toEqual(['nul\u0000label']);
    expect(back?.metadata).toEqual({ 'key\u0000': ['value\u0000'] });
    const written = await b.update(task.id, (t) => ({ ...t, notes: 'a\u0000b' }));
    expect(written?.notes).toBe('a\u0000b');
    await a.refresh();
    expect(a.get(task.id)?.notes).toBe('a\u0000b');
  });

  it('two stores updating one task concurrently: every increment lands (the write lock serialises them)', async () => {
    const dir = await testDir('pg-concurrent');
    const url = await server.newDatabase();
    await using a = await open(url, dir);
    await using b = await open(url, dir);
    const task = await a.add({ title: 'counter', metadata: { n: 0 } });
    await b.refresh();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => ((i % 2 === 0 ? a : b) as PostgresStore).update(task.id, bump)),
    );
    await a.refresh();
    expect(a.get(task.id)?.metadata).toEqual({ n: 50 });
  });

  it('a change planned on a stale copy of its row is planned again: no update is lost', async () => {
    const dir = await testDir('pg-stale-row');
    const url = await server.newDatabase();
    await using a = await open(url, dir);
    await using b = await open(url, dir);
    const task = await a.add({ title: 'counter', metadata: { n: 0 } });
    const other = await a.add({ title: 'other' });
    await b.refresh();
    // b commits once while a writes beside it: from then on b plans before the lock, guarding
    // each batch by the rows it changes.
    await a.update(other.id, (t) => ({ ...t, notes: 'a' }));
    await b.update(other.id, (t) => ({ ...t, notes: `${t.notes}b` }));
    await a.update(task.id, bump);
    // b's copy of the row still says 0; its change is planned again on the database's row.
    expect((await b.update(task.id, bump))?.metadata).toEqual({ n: 2 });
    await a.refresh();
    expect(a.get(task.id)?.metadata).toEqual({ n: 2 });
    expect(a.get(other.id)?.notes).toBe('ab');
  });

  it('a mutation sees other stores’ tasks from the database, not a stale mirror', async () => {
    await expectMutationSeesDatabase(await server.newDatabase(), await testDir('pg-context'));
  });

  it('a NOTIFY that arrives while a catch-up runs is not lost', async () => {
    const dir = await testDir('pg-pending');
    const url = await server.newDatabase();
    await using writer = await open(url, dir);
    await using reader = await open(url, dir);
    const ids: string[] = [];
    const all = new Promise<void>((resolve) => {
      const stop = reader.watch(() => {
        if (reader.list().length === 40) {
          stop();
          resolve();
        }
      });
    });
    // Many commits back to back: notifications land while the reader's catch-ups are running.
    for (let i = 0; i < 40; i++) ids.push((await writer.add({ title: `t${i}` })).id);
    await all;
    expect(reader.list().map((t) => t.id)).toEqual(ids);
  });

  it('an older schema is named with the command that upgrades it; nothing migrates silently', async () => {
    const url = await server.newDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('DELETE FROM ygg_schema_version');
    await client.query(`INSERT INTO ygg_schema_version (version, name) VALUES (0, 'before')`);
    await client.end();
    await expect(PostgresStore.open({ url })).rejects.toMatchObject({
      message: expect.stringContaining('no ygg schema'),
    });
    const empty = server.url('postgres');
    await expect(PostgresStore.open({ url: empty })).rejects.toMatchObject({
      hint: expect.stringContaining('ygg init --store'),
    });
    // migrate is idempotent on an up-to-date schema.
    const fresh = await server.newDatabase();
    expect((await migrate(fresh)).applied).toEqual([]);
  });

  it('a database at schema 6 is refused until migrated to 7; then a commit planned on a stale copy still waits its turn', async () => {
    const dir = await testDir('pg-upgrade-6');
    const url = server.url('upgrade_from_6');
    await withClient(server.url('postgres'), (c) => c.query('CREATE DATABASE upgrade_from_6'));
    // Schema 6 as a database migrated by an earlier ygg has it.
    await withClient(url, async (c) => {
      await c.query(
        'CREATE TABLE ygg_schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      for (const migration of migrations.filter((m) => m.version <= 6)) {
        await c.query(migration.sql);
        await c.query('INSERT INTO ygg_schema_version (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
      }
    });
    await expect(PostgresStore.open({ url })).rejects.toMatchObject({
      hint: expect.stringContaining('ygg store migrate'),
    });
    expect((await migrate(url)).applied.map((m) => m.version)).toEqual([7]);
    // A stale plan is sent back by version 7's count of the newer rows.
    await expectMutationSeesDatabase(url, dir);
  });

  it('export writes an unchanged issue byte for byte; import takes only newer updated_at', async () => {
    const dir = await testDir('pg-bridge');
    const url = await server.newDatabase();
    const file = join(dir, 'issues.jsonl');
    // Spacing, key order, escapes and number spellings jsonb would normalise, and a NUL it refuses.
    const kept =
      '{"id":"bd-a1","title":"caf\\u00e9 <b>\\u0000","priority":2.0,  "status":"open","zeta":1,"alpha":2,"created_at":"2026-01-01T00:00:00.123456789Z","updated_at":"2026-01-01T00:00:00Z"}';
    const other =
      '{"id":"bd-b2","title":"other","status":"open","priority":1,"updated_at":"2026-01-01T00:00:00Z"}';
    await writeFile(file, `${kept}\n${other}\n{"_type":"memory","id":"m1"}\n`);
    const first = await importIssues(url, file);
    expect(first).toMatchObject({ added: 2, updated: 0, kept: 0 });
    expect(first.skipped).toEqual([{ line: 3, why: expect.stringContaining('not an issue') }]);

    await using store = await open(url, dir);
    await store.update('bd-b2', (t) => ({ ...t, status: 'closed', updated_at: '2026-02-01T00:00:00Z' }));
    const out = join(dir, 'out.jsonl');
    await exportIssues(url, out);
    const lines = (await readFile(out, 'utf8')).split('\n');
    expect(lines[0]).toBe(kept);
    expect(JSON.parse(lines[1] as string)).toMatchObject({ id: 'bd-b2', status: 'closed' });

    // The older bd-b2 line does not undo ygg's change; a newer bd-a1 line is taken as it is.
    const newer = kept.replace('"updated_at":"2026-01-01T00:00:00Z"', '"updated_at":"2026-03-01T00:00:00Z"');
    await writeFile(file, `${newer}\n${other}\n`);
    expect(await importIssues(url, file)).toMatchObject({ added: 0, updated: 1, kept: 1 });
    await exportIssues(url, out);
    const again = (await readFile(out, 'utf8')).split('\n');
    expect(again[0]).toBe(newer);
    expect(JSON.parse(again[1] as string).status).toBe('closed');
  });

  it('never prints a password from the URL', async () => {
    expect(redactUrl('postgres://ygg:s3cret@db.lab:5432/queue')).toBe('postgres://ygg:***@db.lab:5432/queue');
    expect(redactUrl('postgresql://db/queue?password=s3cret&sslmode=require')).toBe(
      'postgresql://db/queue?password=***&sslmode=require',
    );
    const bad = `postgres://ygg:s3cret@/nodb?host=${encodeURIComponent(server.socketDir)}`;
    const error = await PostgresStore.open({ url: bad }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).not.toContain('s3cret');
    expect(String((error as Error).message)).toContain('***');
  });

  it('the database restarting: writes resume on fresh connections and the watcher listens again', async () => {
    const dir = await testDir('pg-restart');
    const url = await server.newDatabase();
    const states: string[] = [];
    await using store = await PostgresStore.open({
      url,
      runtimeDir: join(dir, '.ygg'),
      pollIntervalMs: 60_000,
      onConnection: (state) => states.push(state),
    });
    store.watch(() => undefined);
    const task = await store.add({ title: 'survives' });
    await server.restart();
    // The pool's idle connection died with the server; the next write opens a fresh one.
    const written = await store.update(task.id, (t) => ({ ...t, status: 'closed' }));
    expect(written?.status).toBe('closed');
    // The listener reconnects: another writer's add is seen through NOTIFY again.
    await using other = await open(url, dir);
    const seen = nextChange(store, (c) => c.external && c.added.length > 0);
    const added = await other.add({ title: 'after the restart' });
    expect((await seen).added).toEqual([added.id]);
    expect(states).toEqual(['lost', 'back']);
    expect(other.statusOf(task.id)).toBe('closed');
  });
});
