import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { yggOf } from '../../src/store/task.js';
import { chromiumPath, chromiumFlags as flags } from '../helpers/chromium.js';
import { repoRoot, runYgg } from '../helpers/cli.js';
import { startLoop, workspace } from '../helpers/running-loop.js';
import { waitForTasks } from '../helpers/store-file.js';

const hostsYaml = `
hosts:
  surtr: { transport: local, slots: 2 }
type_rules:
  - { type: orphan, labels: [orphan] }
types:
  orphan: { hosts: [] }
queue: { poll_interval: 500ms, shutdown_grace: 2s }
defaults: { attempts: 1 }
`;

/** An nvidia-smi on the loop's PATH that answers with an H100's real output. */
async function fakeNvidiaSmi(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const fixtures = join(repoRoot, 'test', 'fixtures', 'nvidia-smi');
  await copyFile(join(fixtures, 'ygg-query-busy.csv'), join(bin, 'gpus.csv'));
  await copyFile(join(fixtures, 'ygg-apps-busy.csv'), join(bin, 'apps.csv'));
  const script = `#!/bin/sh
case "$1" in
  --query-compute-apps=*) cat "${bin}/apps.csv" ;;
  *) cat "${bin}/gpus.csv" ;;
esac
`;
  await writeFile(join(bin, 'nvidia-smi'), script);
  await chmod(join(bin, 'nvidia-smi'), 0o755);
  await chmod(dir, 0o755);
  return bin;
}

describe.skipIf(!existsSync(chromiumPath))('web view pictures in headless Chromium at 1400×1000', () => {
  it('keeps dead letters, unroutable tasks, the queue and the charts on one screen, draws what ran, and cancels from a button', async () => {
    const ws = await workspace('web-pictures', hostsYaml);
    const bin = await fakeNvidiaSmi(ws.dir);
    const quick = Array.from({ length: 24 }, (_, i) => `bd-q${i}`);
    for (const id of quick)
      await ws.add(id, `quick job ${id} with a title long enough to need cutting in a narrow column`, {
        handler: 'simulate',
        simulate_ms: 50,
      });
    await ws.add('bd-fail', 'a job that fails', {
      handler: 'shell',
      argv: ['sh', '-c', 'echo boom >&2; exit 1'],
    });
    const loop = await startLoop(ws.dir, [], { PATH: `${bin}:${process.env.PATH}` });
    await waitForTasks(ws.store, (tasks) =>
      [...quick, 'bd-fail'].every((id) =>
        tasks.some((t) => t.id === id && t.status !== 'open' && t.status !== 'in_progress'),
      ),
    );
    // Two long tasks fill both slots, so the next waits in the queue; one task no host takes.
    await ws.add('bd-long1', 'holds a slot', { handler: 'simulate', simulate_ms: 120_000 });
    await ws.add('bd-long2', 'holds the other slot', { handler: 'simulate', simulate_ms: 120_000 });
    await waitForTasks(ws.store, (tasks) => tasks.filter((t) => t.status === 'in_progress').length === 2);
    await ws.add('bd-wait', 'waits for a slot', { handler: 'simulate', simulate_ms: 10 });
    const orphan = {
      id: 'bd-orphan',
      title: 'no host takes it',
      status: 'open',
      priority: 2,
      issue_type: 'task',
      created_at: new Date().toISOString(),
      labels: ['orphan'],
      metadata: { ygg: { handler: 'simulate', simulate_ms: 10 } },
    };
    await writeFile(ws.store, `${JSON.stringify(orphan)}\n`, { flag: 'a' });

    const browser = await chromium.launch({ executablePath: chromiumPath, args: flags });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on('dialog', (dialog) => void dialog.accept());
      await page.goto(loop.browserUrl);
      await page.locator('#conn', { hasText: 'live' }).waitFor();

      // The queue lists the waiting task with its reason, not only counts; the unroutable one is in its own panel.
      const waiting = page.locator('#queue [data-task="bd-wait"]');
      await waiting.waitFor({ timeout: 30_000 });
      await expect(waiting.textContent()).resolves.toContain('waiting for a free slot');
      await page.locator('#unroutable [data-task="bd-orphan"]').waitFor({ timeout: 30_000 });
      expect(await page.locator('#queue [data-task="bd-orphan"]').count()).toBe(0);
      await page.locator('#dead [data-task="bd-fail"]').waitFor();
      await expect(page.locator('#dead [data-task="bd-fail"]').textContent()).resolves.toContain(
        'sh exited with code 1: boom',
      );

      // The charts: a bar per attempt on the slot timeline, the ended attempts counted, a GPU's samples.
      const ran = [...quick, 'bd-fail', 'bd-long1', 'bd-long2'];
      const drawn = ran.map((id) => `#timeline-chart rect.attempt[data-task="${id}"]`);
      await page.waitForFunction(
        `${JSON.stringify(drawn)}.every((s) => document.querySelector(s))`,
        undefined,
        {
          timeout: 30_000,
        },
      );
      const ended = await page.$$eval('#activity-chart rect.ended', (bars) =>
        bars.reduce((sum, bar) => sum + Number(bar.getAttribute('data-ended')), 0),
      );
      expect(ended).toBeGreaterThanOrEqual(quick.length + 1);
      await page.locator('#gpus .gpu circle.sample').first().waitFor({ timeout: 30_000 });
      // Each sparkline is named on the page (not only in its tooltip).
      const gpuName = page.locator('#gpus svg text.name').first();
      await expect(gpuName.textContent({ timeout: 10_000 })).resolves.toContain('surtr GPU0');
      // Two slots ran at once at most: the timeline has at most two rows for surtr.
      const rows = await page.$$eval(
        '#timeline-chart rect.attempt',
        (bars) => new Set(bars.map((b) => b.getAttribute('y'))).size,
      );
      expect(rows).toBeLessThanOrEqual(2);

      // Every panel named lies within the screen, however long the outcomes column is.
      for (const panel of [
        '#dead-box',
        '#unroutable-box',
        '#queue-box',
        '#charts-box',
        '#gpus-box',
        '#hosts-box',
      ]) {
        const box = await page.locator(panel).boundingBox();
        expect(box, panel).not.toBeNull();
        expect(box!.x + box!.width, panel).toBeLessThanOrEqual(1400);
        expect(box!.y + box!.height, panel).toBeLessThanOrEqual(1000);
      }
      // The outcomes are not cut at the side: each row's time is on screen without scrolling.
      const recent = await page
        .locator('#recent-box')
        .evaluate((box) => ({ scroll: box.scrollWidth, client: box.clientWidth }));
      expect(recent.scroll).toBeLessThanOrEqual(recent.client);
      await mkdir(join(repoRoot, 'test-results', 'screenshots'), { recursive: true });
      await page.screenshot({ path: join(repoRoot, 'test-results', 'screenshots', 'web-pictures.png') });

      // Cancel from the web view: the task is closed as cancelled, recorded as the web view's doing.
      await waiting.locator('button.cancel').click();
      await page.locator('#msg', { hasText: 'bd-wait cancelled' }).waitFor();
      const shown = JSON.parse((await runYgg(['show', 'bd-wait', '--json'], { cwd: ws.dir })).stdout);
      expect(shown.status).toBe('closed');
      expect(shown.close_reason).toBe('cancelled');
      expect(yggOf(shown).cancelled?.by).toBe('the web view');
    } finally {
      await browser.close();
      await loop.stop();
    }
  });
});
