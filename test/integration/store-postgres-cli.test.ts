/** The real CLI on a PostgreSQL store: init, add, list, the store's selection, migrate, export/import, passwords. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestSchemaVersion } from '../../src/store/postgres/migrations/index.js';
import { runYgg } from '../helpers/cli.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { testDir } from '../helpers/tmp.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

/** An empty database without ygg's schema. */
async function emptyDatabase(name: string): Promise<string> {
  const client = new pg.Client({ connectionString: server.url('postgres') });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return server.url(name);
}

describe('the CLI on a PostgreSQL store', () => {
  it('init creates the schema; add and list work through --store, YGG_STORE and store: in hosts.yaml', async () => {
    const dir = await testDir('pg-cli');
    const url = await emptyDatabase('cli_init');
    const before = await runYgg(['list', '--store', url], { cwd: dir });
    expect(before.code).not.toBe(0);
    expect(before.stderr).toContain('ygg init --store');

    const init = await runYgg(['init', '--store', url], { cwd: dir });
    expect(init.stderr).toBe('');
    expect(init.stdout).toContain(`created ygg schema version ${latestSchemaVersion} in postgres://`);
    expect(init.stdout).toContain('created hosts.yaml');
    expect((await runYgg(['init', '--store', url], { cwd: dir })).stdout).toContain(
      `kept ygg schema version ${latestSchemaVersion}`,
    );

    const add = await runYgg(['add', 'first task', '--store', url, '--config', join(dir, 'hosts.yaml')], {
      cwd: dir,
    });
    expect(add.code, add.stderr).toBe(0);
    const id = add.stdout.trim().split(/\s+/)[0];
    expect(id).toMatch(/^ygg-/);

    const viaFlag = await runYgg(['list', '--json', '--store', url], { cwd: dir });
    expect(JSON.parse(viaFlag.stdout).map((t: { id: string }) => t.id)).toEqual([id]);
    const viaEnv = await runYgg(['list', '--json'], { cwd: dir, env: { YGG_STORE: url } });
    expect(JSON.parse(viaEnv.stdout).map((t: { id: string }) => t.id)).toEqual([id]);
    await writeFile(
      join(dir, 'hosts.yaml'),
      `store: ${url}\n${await readFile(join(dir, 'hosts.yaml'), 'utf8')}`,
    );
    const viaConfig = await runYgg(['list', '--json'], {
      cwd: dir,
      env: { YGG_CONFIG: join(dir, 'hosts.yaml') },
    });
    expect(viaConfig.stderr).toBe('');
    expect(JSON.parse(viaConfig.stdout).map((t: { id: string }) => t.id)).toEqual([id]);
  });

  it('a database without the schema: commands name the fix; `ygg store migrate` creates it explicitly', async () => {
    const dir = await testDir('pg-cli-migrate');
    const url = await emptyDatabase('cli_migrate');
    const list = await runYgg(['list', '--store', url], { cwd: dir });
    expect(list.code).not.toBe(0);
    expect(list.stderr).toContain('no ygg schema');
    // Nothing was created by the failed command.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const tables = await client.query(`SELECT to_regclass('ygg_issues') AS t`);
    await client.end();
    expect(tables.rows[0].t).toBeNull();
    const migrated = await runYgg(['store', 'migrate', '--store', url], { cwd: dir });
    expect(migrated.stderr).toBe('');
    expect(migrated.stdout).toContain(`schema version 0 → ${latestSchemaVersion}`);
    const again = await runYgg(['store', 'migrate', '--store', url], { cwd: dir });
    expect(again.stdout).toContain(`schema version ${latestSchemaVersion}, up to date`);
    const json = await runYgg(['store', 'migrate', '--store', url, '--json'], { cwd: dir });
    expect(JSON.parse(json.stdout)).toMatchObject({
      from: latestSchemaVersion,
      to: latestSchemaVersion,
      applied: [],
    });
    expect((await runYgg(['list', '--store', url], { cwd: dir })).code).toBe(0);
  });

  it('export and import through the CLI keep bd lines byte for byte', async () => {
    const dir = await testDir('pg-cli-bridge');
    const url = await server.newDatabase();
    const line =
      '{"id":"bd-x1","title":"from bd","status":"open","priority":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","custom":{"b":1,"a":2}}';
    await writeFile(join(dir, 'in.jsonl'), `${line}\n{"oops"\n`);
    const imported = await runYgg(['store', 'import', '--from', 'in.jsonl', '--store', url], { cwd: dir });
    expect(imported.stdout).toContain('1 added, 0 updated, 0 kept');
    expect(imported.stdout).toContain('in.jsonl:2: skipped: the line is not valid JSON');
    const exported = await runYgg(['store', 'export', '--to', 'out.jsonl', '--store', url], { cwd: dir });
    expect(exported.stdout).toContain('wrote 1 issue to out.jsonl');
    expect(await readFile(join(dir, 'out.jsonl'), 'utf8')).toBe(`${line}\n`);
    // --json: one object each, nothing else on stdout.
    const again = await runYgg(['store', 'import', '--from', 'in.jsonl', '--store', url, '--json'], {
      cwd: dir,
    });
    expect(JSON.parse(again.stdout)).toEqual({
      from: 'in.jsonl',
      added: 0,
      updated: 0,
      kept: 1,
      skipped: [{ line: 2, why: expect.stringContaining('not valid JSON') }],
    });
    const out = await runYgg(['store', 'export', '--to', 'out.jsonl', '--store', url, '--json'], {
      cwd: dir,
    });
    expect(JSON.parse(out.stdout)).toEqual({ issues: 1, to: 'out.jsonl' });
  });

  it('never prints the password of a URL', async () => {
    const dir = await testDir('pg-cli-secret');
    const url = `postgres://postgres:s3cret-pw@/no_such_db?host=${encodeURIComponent(server.socketDir)}`;
    const list = await runYgg(['list', '--store', url], { cwd: dir });
    expect(list.code).not.toBe(0);
    expect(list.stderr).toContain('no_such_db');
    expect(list.stderr).not.toContain('s3cret-pw');
    expect(list.stderr).toContain('postgres:***@');
  });

  it('ygg doctor checks the database: reachable, schema version, clock skew', async () => {
    const dir = await testDir('pg-cli-doctor');
    await writeFile(join(dir, 'hosts.yaml'), 'hosts:\n  here: { transport: local, slots: 1 }\n');
    const storeEntry = async (url: string) => {
      const run = await runYgg(['doctor', '--json', '--config', join(dir, 'hosts.yaml')], {
        cwd: dir,
        env: { YGG_STORE: url },
      });
      const entries = JSON.parse(run.stdout) as {
        host: string;
        ok: boolean;
        steps: { step: string; status: string; fix?: string }[];
      }[];
      return entries.find((e) => e.host === 'store');
    };
    const good = await storeEntry(await server.newDatabase());
    expect(good?.steps.map((s) => [s.step, s.status])).toEqual([
      ['database', 'ok'],
      ['schema', 'ok'],
      ['clock', 'ok'],
      ['hosts', 'ok'],
      ['dispatchers', 'ok'],
    ]);
    const bare = await storeEntry(await emptyDatabase('cli_doctor'));
    expect(bare?.ok).toBe(false);
    expect(bare?.steps.find((s) => s.step === 'schema')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('ygg init --store'),
    });
  });
});
