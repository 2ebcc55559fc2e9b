import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { yggOf } from '../../src/store/task.js';
import { chromiumPath, chromiumFlags as flags } from '../helpers/chromium.js';
import { repoRoot } from '../helpers/cli.js';
import { startLoop, workspace } from '../helpers/running-loop.js';
import { waitForTasks } from '../helpers/store-file.js';

describe.skipIf(!existsSync(chromiumPath))('web view in headless Chromium', () => {
  it('shows a task appear and finish live, retries a dead task by its button, and saves a screenshot', async () => {
    const ws = await workspace('web-view');
    await ws.add('bd-fail', 'a job that fails', { handler: 'shell', argv: ['false'] });
    const loop = await startLoop(ws.dir);
    await waitForTasks(ws.store, (tasks) => tasks.some((t) => t.id === 'bd-fail' && t.status === 'blocked'));

    const browser = await chromium.launch({ executablePath: chromiumPath, args: flags });
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
      await page.goto(loop.browserUrl);
      await page.locator('#conn', { hasText: 'live' }).waitFor();
      // The token left the address bar and stayed in the tab.
      expect(page.url()).not.toContain('token');

      // A task appears while the page is open, runs, and finishes.
      await ws.add('bd-quick', 'a quick job', { handler: 'simulate', simulate_ms: 1500 });
      await page.locator('#running [data-task="bd-quick"]').waitFor({ timeout: 20_000 });
      await page.locator('#recent [data-task="bd-quick"] .o-succeeded').waitFor({ timeout: 20_000 });
      await page.locator('#running [data-task="bd-quick"]').waitFor({ state: 'detached' });

      // The dead task is listed with its error; retry sends it back (and it runs, and fails, again).
      const dead = page.locator('#dead [data-task="bd-fail"]');
      await expect(dead.textContent()).resolves.toContain('false exited');
      await expect(dead.textContent()).resolves.toMatch(/· 1 attempt(?!s)/);
      await page.locator('#hosts [data-host="surtr"]').waitFor();
      await dead.locator('button', { hasText: 'retry' }).click();
      await page.locator('#msg', { hasText: 'bd-fail sent back to the queue' }).waitFor();
      const tasks = await waitForTasks(ws.store, (all) =>
        all.some((t) => t.id === 'bd-fail' && yggOf(t).retried_at !== undefined && t.status === 'blocked'),
      );
      expect(yggOf(tasks.find((t) => t.id === 'bd-fail')!).history?.length).toBe(2);

      await mkdir(join(repoRoot, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(repoRoot, 'test-results', 'web-view.png'), fullPage: true });
    } finally {
      await browser.close();
      await loop.stop();
    }
  });
});
