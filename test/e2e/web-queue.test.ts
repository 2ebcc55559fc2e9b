import { existsSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromiumPath, chromiumFlags as flags } from '../helpers/chromium.js';
import { repoRoot } from '../helpers/cli.js';
import { startLoop, workspace } from '../helpers/running-loop.js';
import { waitForTasks } from '../helpers/store-file.js';

const hostsYaml = `
hosts:
  surtr: { transport: local, slots: 1 }
queue: { poll_interval: 500ms, shutdown_grace: 2s }
defaults: { attempts: 1 }
`;

/** More tasks wait than the snapshot lists (1,000), so the page must count those it does not show. */
const backlog = 1_200;

describe.skipIf(!existsSync(chromiumPath))('web view queue with a long backlog', () => {
  it('lists the task that runs next first and counts every task it does not list', async () => {
    const ws = await workspace('web-queue', hostsYaml);
    await ws.add('bd-long', 'holds the only slot', { handler: 'simulate', simulate_ms: 120_000 });
    const loop = await startLoop(ws.dir);
    await waitForTasks(ws.store, (tasks) =>
      tasks.some((t) => t.id === 'bd-long' && t.status === 'in_progress'),
    );
    const now = new Date().toISOString();
    const line = (id: string, priority: number) =>
      JSON.stringify({
        id,
        title: `backlog task ${id}`,
        status: 'open',
        priority,
        issue_type: 'task',
        created_at: now,
        updated_at: now,
        metadata: { ygg: { handler: 'simulate', simulate_ms: 10 } },
      });
    const ids = Array.from({ length: backlog }, (_, i) => `bd-b${String(i).padStart(4, '0')}`);

    const browser = await chromium.launch({ executablePath: chromiumPath, args: flags });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(loop.browserUrl);
      await page.locator('#conn', { hasText: 'live' }).waitFor();
      const more = page.locator('#queue p', { hasText: /^and \d+ more$/ });
      await appendFile(ws.store, `${ids.map((id) => line(id, 2)).join('\n')}\n`);
      await more.waitFor({ timeout: 30_000 });
      // A P0 task that arrives once the backlog waits runs next, so it is listed first.
      await appendFile(ws.store, `${line('bd-urgent', 0)}\n`);
      const first = page.locator('#queue tr[data-task]').first();
      await first
        .and(page.locator('[data-task="bd-urgent"]'))
        .waitFor({ timeout: 30_000 })
        .catch(() => undefined);
      const listed = await page.$$eval('#queue tr[data-task]', (rows) =>
        rows.map((r) => r.getAttribute('data-task')),
      );
      expect(listed[0]).toBe('bd-urgent');
      expect(listed).toHaveLength(50);
      // Every waiting task is either listed or counted: 1,201 ready, 50 shown.
      await expect(more.textContent()).resolves.toBe(`and ${backlog + 1 - 50} more`);
      // The last hour's chart marks the backlog's depth (it is redrawn every few seconds).
      const deepest = () =>
        page.$$eval('#activity-chart circle.queued', (dots) =>
          Math.max(0, ...dots.map((d) => Number(d.getAttribute('data-queued')))),
        );
      await expect.poll(deepest, { timeout: 30_000, interval: 500 }).toBeGreaterThanOrEqual(backlog);
      await mkdir(join(repoRoot, 'test-results', 'screenshots'), { recursive: true });
      await page.screenshot({ path: join(repoRoot, 'test-results', 'screenshots', 'web-queue.png') });
    } finally {
      await browser.close();
      await loop.stop();
    }
  });
});
