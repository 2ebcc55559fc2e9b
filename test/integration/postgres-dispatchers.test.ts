/**
 * Dispatchers' status records on a PostgreSQL store: two `ygg loop`s in their own folders (as on
 * two machines, nothing under `.ygg/` shared) are both seen, each named, by `ygg monitor` from a
 * third folder and by either loop's status (the web view's JSON); a record from another machine
 * whose heartbeat is old reads as gone, a fresh one is shown with its machine.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/observe/snapshot.js';
import { runYgg } from '../helpers/cli.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startLoop } from '../helpers/running-loop.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const hostsYaml = `
hosts:
  surtr: { transport: local, slots: 2 }
types:
  work: { hosts: [surtr] }
`;

/** `ygg monitor --once --json` run in `cwd`: the snapshot it printed. */
async function monitorJson(cwd: string, url: string, config: string): Promise<StatusSnapshot> {
  const result = await runYgg(['monitor', '--once', '--json', '--store', url, '--config', config], { cwd });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusSnapshot;
}

/** The loop's own status server's snapshot (what its web view shows). */
async function statusOf(browserUrl: string): Promise<StatusSnapshot> {
  const url = new URL(browserUrl);
  const token = new URLSearchParams(url.hash.slice(1)).get('token') ?? url.searchParams.get('token');
  const response = await fetch(`${url.origin}/status`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as StatusSnapshot;
}

describe('dispatcher records in PostgreSQL', () => {
  it('a monitor in a third folder sees both loops, each named; the web view of either shows both', async () => {
    const dir = await testDir('pg-dispatchers');
    const config = join(dir, 'hosts.yaml');
    await writeFile(config, hostsYaml);
    const url = await server.newDatabase();
    const folders = ['machine-a', 'machine-b', 'machine-c'].map((name) => join(dir, name));
    for (const folder of folders) await mkdir(folder);
    const args = ['--store', url, '--config', config];
    const a = await startLoop(folders[0]!, args);
    const b = await startLoop(folders[1]!, args);
    const names = [`pid ${a.child.pid}`, `pid ${b.child.pid}`];
    const bothNamed = (snapshot: StatusSnapshot) =>
      names.every((name) => snapshot.loops?.some((l) => l.name === name && l.view === 'live'));

    const seen = await waitUntil(
      async () => {
        const snapshot = await monitorJson(folders[2]!, url, config);
        return bothNamed(snapshot) ? snapshot : false;
      },
      { what: 'the monitor in a third folder to list both loops', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(seen.loops).toHaveLength(2);
    expect(seen.loop.running).toBe(true);
    // Each loop's web view gathers the other from the database, not from its own folder.
    for (const loop of [a, b])
      await waitUntil(async () => bothNamed(await statusOf(loop.browserUrl)), {
        what: 'a loop’s status to list both loops',
        timeoutMs: 30_000,
        intervalMs: 250,
      });

    // ygg doctor from the third folder names both, with their clocks against the database's.
    const doctor = await runYgg(['doctor', '--json', '--config', config], {
      cwd: folders[2]!,
      env: { YGG_STORE: url },
    });
    expect(doctor.stdout, `${doctor.code} ${doctor.stderr}`).not.toBe('');
    const store = (
      JSON.parse(doctor.stdout) as { host: string; steps: { step: string; detail: string }[] }[]
    ).find((e) => e.host === 'store');
    const dispatchers = store?.steps.find((s) => s.step === 'dispatchers');
    expect(dispatchers?.detail).toMatch(/^2 running: /);
    for (const name of names) expect(dispatchers?.detail).toContain(`${name} (clock `);

    await b.stop();
    await waitUntil(
      async () => {
        const snapshot = await monitorJson(folders[2]!, url, config);
        return !snapshot.loops && snapshot.loop.pid === a.child.pid;
      },
      { what: 'the stopped loop to be gone from the monitor', timeoutMs: 30_000, intervalMs: 250 },
    );
    await a.stop();
  }, 120_000);

  it('a record from another machine: shown with its machine while its heartbeat is fresh, gone once it is old', async () => {
    const dir = await testDir('pg-dispatchers-remote');
    const config = join(dir, 'hosts.yaml');
    await writeFile(config, hostsYaml);
    const url = await server.newDatabase();
    const here = join(dir, 'here');
    await mkdir(here);
    await mkdir(join(dir, 'loop'));
    const loop = await startLoop(join(dir, 'loop'), ['--store', url, '--config', config]);
    // What listens here on the port the other machine's record names: it must never be asked.
    const asked: string[] = [];
    const local = createServer((request, response) => {
      asked.push(String(request.headers.authorization));
      response.writeHead(401).end();
    });
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    const port = (local.address() as AddressInfo).port;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const record = (owner: string, pid: number) => ({
        url: `http://127.0.0.1:${port}`,
        host: '127.0.0.1',
        port,
        token: 'other-box-token',
        owner,
        pid,
        machine: 'other-box',
        startedAt: new Date().toISOString(),
        version: '0.0.0',
        heartbeatAt: new Date().toISOString(),
        slotsInUse: 1,
        running: ['bd-elsewhere'],
      });
      await client.query(
        `INSERT INTO ygg_dispatchers (owner, record, heartbeat_at) VALUES
           ('other-box:4242:1', $1, now()),
           ('other-box:4343:1', $2, now() - interval '10 minutes')`,
        [JSON.stringify(record('other-box:4242:1', 4242)), JSON.stringify(record('other-box:4343:1', 4343))],
      );
      const snapshot = await waitUntil(
        async () => {
          const s = await monitorJson(here, url, config);
          return s.loops?.some((l) => l.name === 'pid 4242 on other-box') ? s : false;
        },
        { what: 'the other machine’s dispatcher in the monitor', timeoutMs: 30_000, intervalMs: 250 },
      );
      const names = snapshot.loops?.map((l) => l.name);
      expect(names).toContain(`pid ${loop.child.pid}`);
      expect(names).not.toContain('pid 4343 on other-box');
      // Its status server (on its own loopback) is not reachable from here: the record's own
      // count stands in, and its token was sent nowhere.
      expect(snapshot.loops?.find((l) => l.name === 'pid 4242 on other-box')).toMatchObject({
        view: 'unreachable',
        running: 1,
      });
      expect(asked).toEqual([]);
    } finally {
      local.close();
      await client.end();
      await loop.stop();
    }
  }, 90_000);
});
