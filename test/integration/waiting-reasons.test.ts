/**
 * Why tasks wait, as a user asks it: every waiting task has one reason, from the dispatcher's
 * decisions, and `list --ready` (text and --json), `position` and the monitor give the same one,
 * with a loop running and without; plain `list` tells dead letters and held tasks apart; and
 * `loop --until-idle` ends non-zero naming what is left and why, also when every host is down.
 */
import { existsSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/observe/snapshot.js';
import { cell, noteWidth } from '../../src/text/cell.js';
import { runYgg } from '../helpers/cli.js';
import { startLoop, workspace } from '../helpers/running-loop.js';
import { waitForTasks } from '../helpers/store-file.js';
import { waitUntil } from '../helpers/wait.js';

const chromiumPath = '/usr/bin/chromium';

const oneSlot = `
hosts:
  surtr: { transport: local, slots: 1 }
type_rules:
  - { type: orphan, labels: [orphan] }
types:
  orphan: { hosts: [] }
queue: { poll_interval: 500ms, shutdown_grace: 2s }
defaults: { attempts: 1 }
`;

interface Listed {
  id: string;
  state?: string;
  waiting?: string;
}

async function ygg(dir: string, ...args: string[]) {
  const result = await runYgg(args, { cwd: dir });
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

/** A dead task, a task held by it, one no host can take: the store as --until-idle leaves it. */
async function storeWithLeftovers(name: string) {
  const ws = await workspace(name, oneSlot);
  await ws.add('bd-dead', 'fails for good', { handler: 'shell', argv: ['false'] });
  await appendFile(
    ws.store,
    `${JSON.stringify({ id: 'bd-after', title: 'needs bd-dead', status: 'open', priority: 2, issue_type: 'task', created_at: new Date().toISOString(), dependencies: [{ issue_id: 'bd-after', depends_on_id: 'bd-dead', type: 'blocks' }], metadata: { ygg: { handler: 'simulate', simulate_ms: 10 } } })}\n`,
  );
  await appendFile(
    ws.store,
    `${JSON.stringify({ id: 'bd-orphan', title: 'no host takes it', status: 'open', priority: 2, issue_type: 'task', created_at: new Date().toISOString(), labels: ['orphan'], metadata: { ygg: { handler: 'simulate', simulate_ms: 10 } } })}\n`,
  );
  return ws;
}

describe('loop --until-idle ends naming what is left', () => {
  it('exits 3 naming each task left and why, when some can never run here', async () => {
    const ws = await storeWithLeftovers('until-idle-left');
    const run = await runYgg(['loop', '--until-idle', '--no-status'], { cwd: ws.dir, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/2 tasks left/);
    expect(run.stderr).toMatch(/bd-after\s+needs bd-dead: held by bd-dead, which ended dead \(false exited/);
    expect(run.stderr).toMatch(/bd-orphan\s+no host takes it: no host is eligible for type "orphan"/);
  });

  it('gives up after --hosts-down-wait when every host stays down, saying so', async () => {
    const ws = await workspace(
      'until-idle-down',
      `
hosts:
  gone: { transport: ssh, address: 127.0.0.1, port: 1, user: nobody, key: ./key, probe_interval: 200ms, probe_failures: 1 }
defaults: { attempts: 1 }
`,
    );
    await writeFile(join(ws.dir, 'key'), '', { mode: 0o600 });
    await ws.add('bd-stuck', 'needs a host that is down', { handler: 'simulate', simulate_ms: 10 });
    const started = Date.now();
    const run = await runYgg(['loop', '--until-idle', '--no-status', '--hosts-down-wait', '2s'], {
      cwd: ws.dir,
      timeoutMs: 90_000,
    });
    expect(run.code, run.stderr).toBe(3);
    // Bounded: it ends by itself (a loaded machine needs many seconds to start a loop at all).
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(run.stderr).toMatch(
      /gave up after 2 s: the hosts these tasks need stayed down or drained; 1 task left/,
    );
    expect(run.stderr).toMatch(
      /bd-stuck\s+needs a host that is down: waiting: every host is down or drained \(down: gone\)/,
    );
  }, 120_000);
});

describe('one reason per waiting task, the same everywhere', () => {
  it('list --ready, its --json, position and the monitor agree, with a loop and without', async () => {
    const ws = await storeWithLeftovers('waiting-reasons');
    // Run them out, then one long task takes the only slot and another waits for it.
    const idle = await runYgg(['loop', '--until-idle', '--no-status'], { cwd: ws.dir, timeoutMs: 60_000 });
    expect(idle.code, idle.stderr).toBe(3);
    await ws.add('bd-long', 'takes the slot', { handler: 'simulate', simulate_ms: 120_000 });
    await ws.add('bd-next', 'waits for the slot', { handler: 'simulate', simulate_ms: 10 });
    const loop = await startLoop(ws.dir);
    await waitForTasks(ws.store, (all) => all.some((t) => t.id === 'bd-long' && t.status === 'in_progress'));

    const expected = {
      'bd-after': /^held by bd-dead, which ended dead \(false exited with code 1/,
      'bd-orphan': /^no host is eligible for type "orphan"/,
      'bd-next': /^waiting for a free slot \(surtr full\)$/,
    };
    const reasons = await waitUntil(
      async () => {
        const listed = JSON.parse(await ygg(ws.dir, 'list', '--ready', '--json')) as Listed[];
        const byId = new Map(listed.map((t) => [t.id, t.waiting]));
        return Object.entries(expected).every(([id, re]) => re.test(byId.get(id) ?? '')) ? byId : false;
      },
      { what: 'list --ready --json to give every reason' },
    );
    const text = await ygg(ws.dir, 'list', '--ready');
    // The table cuts a long reason to a width (a dead blocker's error can be long); --json has it all.
    for (const id of Object.keys(expected))
      expect(text).toContain(`(${cell(reasons.get(id) ?? '', noteWidth)})`);
    expect(await ygg(ws.dir, 'position', 'bd-after')).toBe(
      `bd-after: not in line to run: ${reasons.get('bd-after')}\n`,
    );
    expect(await ygg(ws.dir, 'position', 'bd-orphan')).toBe(
      `bd-orphan: not in line to run: ${reasons.get('bd-orphan')}\n`,
    );
    expect(await ygg(ws.dir, 'position', 'bd-next')).toBe(
      `bd-next: queued, position 1 of 1; ${reasons.get('bd-next')}\n`,
    );
    const snapshot = JSON.parse(await ygg(ws.dir, 'monitor', '--json')) as StatusSnapshot;
    expect(snapshot.unroutable.find((u) => u.id === 'bd-orphan')?.reason).toBe(reasons.get('bd-orphan'));
    expect(snapshot.waiting?.find((w) => w.id === 'bd-next')?.reason).toBe(reasons.get('bd-next'));
    if (existsSync(chromiumPath)) {
      // The web view lists it with the same words.
      const browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ['--headless', '--no-sandbox'],
      });
      try {
        const page = await browser.newPage();
        await page.goto(loop.browserUrl);
        await page
          .locator('#unroutable tr', { hasText: 'bd-orphan' })
          .filter({ hasText: reasons.get('bd-orphan')! })
          .waitFor({ timeout: 20_000 });
      } finally {
        await browser.close();
      }
    }
    const frame = await ygg(ws.dir, 'monitor', '--once');
    expect(frame).toMatch(/Unroutable .*bd-orphan: no host is eligible/);

    // Plain list: the dead letter is dead, the task it holds is held (not `blocked` and `open`).
    const all = JSON.parse(await ygg(ws.dir, 'list', '--json')) as Listed[];
    expect(all.find((t) => t.id === 'bd-dead')?.state).toBe('dead');
    expect(all.find((t) => t.id === 'bd-after')?.state).toBe('held');
    expect(await ygg(ws.dir, 'list')).toMatch(/bd-dead\tP2\tdead\t/);

    // No loop: the same reasons for what does not depend on the hosts' state.
    await loop.stop();
    const without = JSON.parse(await ygg(ws.dir, 'list', '--ready', '--json')) as Listed[];
    for (const id of ['bd-after', 'bd-orphan'])
      expect(without.find((t) => t.id === id)?.waiting).toBe(reasons.get(id));
    expect(await ygg(ws.dir, 'position', 'bd-orphan')).toBe(
      `bd-orphan: not in line to run: ${reasons.get('bd-orphan')}\n`,
    );
    const alone = JSON.parse(await ygg(ws.dir, 'monitor', '--json')) as StatusSnapshot;
    expect(alone.loop.running).toBe(false);
    for (const id of ['bd-after', 'bd-orphan'])
      expect(alone.unroutable.find((u) => u.id === id)?.reason).toBe(reasons.get(id));
  });
});
