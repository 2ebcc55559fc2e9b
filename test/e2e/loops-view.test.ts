/**
 * Several `ygg loop` processes on one store, as a user watching them sees it: the second says
 * the first runs; `monitor`, `hosts`, `list --ready`, the monitor in a terminal and the web view
 * show every loop and which loop runs what; when one stops, the others stay in view; a record
 * left by a dead loop is ignored and removed.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/observe/snapshot.js';
import { yggOf } from '../../src/store/task.js';
import { collectOutput, repoRoot, runYgg, yggBin } from '../helpers/cli.js';
import { type RunningLoop, startLoop, type Workspace, workspace } from '../helpers/running-loop.js';
import { readTasks, waitForTasks } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const long = { handler: 'simulate', simulate_ms: 120_000 };

async function monitorJson(dir: string): Promise<StatusSnapshot> {
  const result = await runYgg(['monitor', '--json'], { cwd: dir });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusSnapshot;
}

/** The pid in each running task's lease, as the store records it. */
async function leasePids(ws: Workspace): Promise<Map<string, number>> {
  const pids = new Map<string, number>();
  for (const task of await readTasks(ws.store)) {
    const owner = yggOf(task).lease?.owner;
    if (task.status === 'in_progress' && owner) pids.set(task.id, Number(owner.split(':')[1]));
  }
  return pids;
}

/** Loop A alone claims bd-a; then loop B starts beside it and bd-b is added (either may take it). */
async function twoLoopsRunning(name: string): Promise<{ ws: Workspace; a: RunningLoop; b: RunningLoop }> {
  const ws = await workspace(name);
  await ws.add('bd-a', 'the first loop’s job', long);
  const a = await startLoop(ws.dir);
  await waitForTasks(ws.store, (all) => all.some((t) => t.id === 'bd-a' && t.status === 'in_progress'));
  const b = await startLoop(ws.dir);
  await ws.add('bd-b', 'a job for either loop', long);
  await waitForTasks(ws.store, (all) => all.some((t) => t.id === 'bd-b' && t.status === 'in_progress'));
  return { ws, a, b };
}

describe('several loops on one store, all in view', () => {
  it('the second loop says the first runs; monitor, hosts and list --ready show both and keep the first after the second stops', async () => {
    const { ws, a, b } = await twoLoopsRunning('loops-view-cli');
    await ws.add('bd-nohandler', 'names a handler no loop has', { handler: 'nope' });
    const [pidA, pidB] = [a.child.pid!, b.child.pid!];

    // B said in its log that A runs, and how they share.
    await waitUntil(() => /another loop runs on this store/.test(b.stdout()), { what: 'B’s notice' });
    expect(b.stdout()).toContain(`pid ${pidA}`);
    expect(b.stdout()).toMatch(/slots.*hold across/);
    expect(a.stdout()).not.toMatch(/another loop runs/);

    // Each loop has its own record, owner-only since it holds the token.
    const dir = join(ws.dir, '.ygg', 'loops');
    const records = await readdir(dir);
    expect(records).toHaveLength(2);
    for (const name of records) {
      expect((await stat(join(dir, name))).mode & 0o777).toBe(0o600);
      const record = JSON.parse(await readFile(join(dir, name), 'utf8'));
      expect(record).toMatchObject({ port: expect.any(Number), token: expect.any(String) });
    }

    // monitor: both loops, and each running task named by the loop whose lease holds it.
    const leases = await leasePids(ws);
    const both = await monitorJson(ws.dir);
    expect(both.loops?.map((l) => l.pid).sort()).toEqual([pidA, pidB].sort());
    expect(both.running.map((r) => r.id).sort()).toEqual(['bd-a', 'bd-b']);
    for (const run of both.running) expect(run.loop).toBe(`pid ${leases.get(run.id)}`);
    const hosts = await runYgg(['hosts'], { cwd: ws.dir });
    expect(hosts.stdout).toMatch(new RegExp(`by pid ${pidA}`));

    // B stops; A still runs bd-a, and every view still says so.
    await b.stop();
    expect(await readdir(dir)).toHaveLength(1);
    expect(a.child.exitCode).toBeNull();
    const left = await monitorJson(ws.dir);
    expect(left.loop).toMatchObject({ running: true, pid: pidA });
    expect(left.running.map((r) => r.id)).toContain('bd-a');
    const hostsAfter = await runYgg(['hosts'], { cwd: ws.dir });
    expect(hostsAfter.stdout).not.toMatch(/no loop answered/);
    expect(hostsAfter.stdout).toMatch(/slots [12]\/2 used/);
    const ready = await runYgg(['list', '--ready'], { cwd: ws.dir });
    expect(ready.stdout).toMatch(/bd-nohandler.*no handler plugin named "nope"/);
    const statusFile = JSON.parse(await readFile(join(ws.dir, '.ygg', 'status.json'), 'utf8'));
    expect(statusFile.pid).toBe(pidA);
  });

  it('logs -f follows a task run by a loop other than the one status.json names', async () => {
    const ws = await workspace('loops-view-logs');
    await ws.add('bd-talk', 'prints, then works on', {
      handler: 'shell',
      argv: ['sh', '-c', 'echo first words; sleep 120'],
    });
    const a = await startLoop(ws.dir);
    await waitForTasks(ws.store, (all) => all.some((t) => t.id === 'bd-talk' && t.status === 'in_progress'));
    const b = await startLoop(ws.dir);
    const statusFile = JSON.parse(await readFile(join(ws.dir, '.ygg', 'status.json'), 'utf8'));
    expect(statusFile.pid).toBe(b.child.pid);
    const follower = spawn(process.execPath, [yggBin, 'logs', '-f', 'bd-talk'], {
      cwd: ws.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collectOutput(follower);
    const ended = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
    try {
      await waitUntil(() => output.stdout().includes('first words'), { what: 'the replayed output' });
      expect((await runYgg(['cancel', 'bd-talk'], { cwd: ws.dir })).code).toBe(0);
      expect(await ended).toBe(0);
      expect(output.stdout()).toMatch(/cancelled/);
    } finally {
      follower.kill();
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('a record left by a dead loop is ignored and removed', async () => {
    const ws = await workspace('loops-view-stale');
    const a = await startLoop(ws.dir);
    await waitUntil(async () => (await readdir(join(ws.dir, '.ygg', 'loops')).catch(() => [])).length === 1);
    // A loop that died without cleaning up: its pid is gone, its record stays.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale = join(ws.dir, '.ygg', 'loops', `dead-${dead}.json`);
    await writeFile(
      stale,
      JSON.stringify({
        owner: `${hostname()}:${dead}:1`,
        pid: dead,
        machine: hostname(),
        startedAt: new Date(1).toISOString(),
        heartbeatAt: new Date().toISOString(),
        version: 'x',
        url: 'http://127.0.0.1:9',
        token: 't',
      }),
      { mode: 0o600 },
    );
    const snapshot = await monitorJson(ws.dir);
    expect(snapshot.loop.pid).toBe(a.child.pid);
    expect(snapshot.loops).toBeUndefined();
    expect(existsSync(stale)).toBe(false);
  });
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

describe.skipIf(!hasTmux)('ygg monitor in a terminal with two loops (tmux)', () => {
  it('names both loops and which one runs each task', async () => {
    const { ws, a, b } = await twoLoopsRunning('loops-view-tmux');
    const leases = await leasePids(ws);
    const sockDir = await testDir('tmux-sock');
    const tmux = (...args: string[]) =>
      execFileSync('tmux', ['-S', `${sockDir}/s`, ...args], { encoding: 'utf8' });
    const command = `env -u NO_COLOR TERM=xterm-256color ${process.execPath} ${yggBin} monitor; sleep 60`;
    tmux('new-session', '-d', '-s', 'm', '-x', '100', '-y', '24', '-c', ws.dir, command);
    try {
      const screen = () => tmux('capture-pane', '-p', '-t', 'm');
      const frame = await waitUntil(
        () => (/bd-a[\s\S]*bd-b|bd-b[\s\S]*bd-a/.test(screen()) ? screen() : false),
        {
          what: 'the monitor to show both tasks',
          intervalMs: 100,
        },
      );
      expect(frame).toMatch(/2 loops: pid \d+ running, pid \d+ running/);
      expect(frame).toContain(`pid ${a.child.pid}`);
      expect(frame).toContain(`pid ${b.child.pid}`);
      for (const id of ['bd-a', 'bd-b'])
        expect(frame).toMatch(new RegExp(`${id} .*surtr\\s+pid ${leases.get(id)}`));
    } finally {
      tmux('kill-server');
    }
  });
});

const chromiumPath = '/usr/bin/chromium';

describe.skipIf(!existsSync(chromiumPath))('the web view with two loops (Chromium)', () => {
  it('served by either loop, it lists both loops and names which runs each task', async () => {
    const { ws, a, b } = await twoLoopsRunning('loops-view-web');
    const leases = await leasePids(ws);
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    try {
      for (const loop of [a, b]) {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        await page.goto(loop.browserUrl);
        await page.locator('#loops', { hasText: '2 loops' }).waitFor({ timeout: 20_000 });
        for (const id of ['bd-a', 'bd-b']) {
          const row = page.locator(`#running [data-task="${id}"]`);
          await row.locator('.loop', { hasText: `pid ${leases.get(id)}` }).waitFor({ timeout: 20_000 });
        }
        await mkdir(join(repoRoot, 'test-results'), { recursive: true });
        await page.screenshot({ path: join(repoRoot, 'test-results', 'web-view-two-loops.png') });
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});
