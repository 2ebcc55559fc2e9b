/**
 * The database of a PostgreSQL store going away mid-run, as a user sees it: the loop says so
 * once in its log and stops claiming; `ygg monitor` (in tmux, from another folder), the loop's
 * status (the web view's JSON) and the web view in Chromium say since when; once the database is
 * back all clear, and every task is done once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/observe/snapshot.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { chromiumFlags, chromiumPath } from '../helpers/chromium.js';
import { yggBin } from '../helpers/cli.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startLoop } from '../helpers/running-loop.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

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
  fenrir: { transport: local, slots: 2 }
types:
  work: { hosts: [surtr, fenrir] }
queue:
  lease: 10s
`;

/** The loop's status (what its web view shows), or undefined when it does not answer. */
async function statusOf(browserUrl: string): Promise<StatusSnapshot | undefined> {
  const url = new URL(browserUrl);
  const token = new URLSearchParams(url.hash.slice(1)).get('token');
  const response = await fetch(`${url.origin}/status`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5000),
  }).catch(() => undefined);
  return response?.ok ? ((await response.json()) as StatusSnapshot) : undefined;
}

/** JSON log lines of the loop so far. */
const logLines = (stdout: string): Record<string, unknown>[] =>
  stdout.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

describe.skipIf(!hasTmux)('the database going away, in the monitor and the web view', () => {
  it('shows "database unreachable since …, claiming paused" while it is away, clears it after, every task done once', async () => {
    const dir = await testDir('pg-outage');
    const config = join(dir, 'hosts.yaml');
    await writeFile(config, hostsYaml);
    const url = await server.newDatabase();
    const loopDir = join(dir, 'dispatcher');
    const monitorDir = join(dir, 'elsewhere');
    await mkdir(loopDir);
    await mkdir(monitorDir);
    const submitter = await PostgresStore.open({
      url,
      runtimeDir: join(dir, 'submitter'),
      pollIntervalMs: 500,
    });
    const loop = await startLoop(loopDir, ['--store', url, '--config', config, '--interval', '100ms']);

    const socket = join(await testDir('tmux-sock'), 's');
    const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
    const command = `${process.execPath} ${yggBin} monitor --store '${url}' --config ${config}; echo "monitor exited $?"; sleep 60`;
    tmux('new-session', '-d', '-s', 'm', '-x', '120', '-y', '30', '-c', monitorDir, command);
    let browser: Browser | undefined;
    try {
      // The web view, where Debian's Chromium is installed.
      browser = existsSync(chromiumPath)
        ? await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags })
        : undefined;
      const page = await browser?.newPage();
      await page?.goto(loop.browserUrl);
      await page?.locator('#conn', { hasText: 'live' }).waitFor();
      const screen = () => tmux('capture-pane', '-p', '-t', 'm');
      const ids: string[] = [];
      for (let i = 0; i < 40; i++)
        ids.push(
          (
            await submitter.add({
              title: `work ${i + 1}`,
              labels: ['work'],
              metadata: { ygg: { handler: 'simulate', simulate_ms: 1000 } },
            })
          ).id,
        );
      await waitUntil(() => /loop running/.test(screen()) && /\d+ done/.test(screen()), {
        what: 'the monitor to show the running loop',
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      await waitUntil(() => logLines(loop.stdout()).some((l) => l.event === 'task:succeeded'), {
        what: 'a first task done',
        timeoutMs: 60_000,
        intervalMs: 50,
      });

      await server.down();
      const frame = await waitUntil(
        () => {
          const s = screen();
          return /DATABASE UNREACHABLE since \d\d:\d\d:\d\d, claiming paused/.test(s) ? s : false;
        },
        { what: 'the monitor to say the database is away', timeoutMs: 60_000, intervalMs: 100 },
      );
      expect(frame.split('\n').every((l) => [...l].length <= 120)).toBe(true);
      const away = await waitUntil(async () => (await statusOf(loop.browserUrl))?.database, {
        what: 'the loop’s status to say the database is away',
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      expect(away).toMatchObject({ state: 'unreachable', claiming: 'paused' });
      expect(Date.parse(away.since)).toBeGreaterThan(0);
      await page
        ?.locator('#database', { hasText: /^database unreachable since \d\d:\d\d:\d\d, claiming paused$/ })
        .waitFor({ timeout: 30_000 });

      await server.up();
      await waitUntil(() => !/DATABASE UNREACHABLE/.test(screen()), {
        what: 'the monitor to clear the database line',
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      await waitUntil(async () => (await statusOf(loop.browserUrl))?.database === undefined, {
        what: 'the loop’s status to clear the database state',
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      await page?.locator('#database').waitFor({ state: 'hidden', timeout: 30_000 });

      const tasks = await waitUntil(
        async () => {
          await submitter.refresh().catch(() => undefined);
          const all = ids.map((id) => submitter.get(id));
          return all.every((t) => t?.status === 'closed') ? (all as Task[]) : false;
        },
        { what: 'every task closed', timeoutMs: 120_000, intervalMs: 250 },
      );
      for (const task of tasks)
        expect(
          (yggOf(task).history ?? []).filter((h) => h.outcome === 'succeeded'),
          `${task.id}'s history`,
        ).toHaveLength(1);

      const lines = logLines(loop.stdout());
      const told = lines.filter((l) => l.event === 'store:connection');
      expect(told.map((l) => l.state)).toEqual(['lost', 'back']);
      expect(loop.stderr().match(/ygg: lost the database/g)).toHaveLength(1);
      // Between the two, at most the claims already on their way when it went landed (one per slot).
      const between = lines.slice(lines.indexOf(told[0]!), lines.indexOf(told[1]!));
      expect(between.filter((l) => l.event === 'task:started').length).toBeLessThanOrEqual(4);
    } finally {
      await browser?.close();
      tmux('kill-server');
      await loop.stop();
      await submitter.close().catch(() => undefined);
    }
  }, 240_000);
});
