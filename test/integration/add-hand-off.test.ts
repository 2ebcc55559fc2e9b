/**
 * `ygg add` while a loop runs on the store hands its write to that loop: the task goes to the
 * store's journal (never to the Beads file alone), the loop runs it and folds it into the file
 * within a second, and a writer without the lock (bd) renaming a copy it read before the add over
 * the file does not lose it.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { spawnLoop } from '../helpers/loop-process.js';
import { readTasks, waitForTasks } from '../helpers/store-file.js';
import { queueDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const hostsYaml = `hosts:
  surtr:
    transport: local
    slots: 2
    sandbox:
      enabled: false
`;

describe('ygg add beside a running loop', () => {
  it('goes through the journal: a stale rename by bd right after it loses nothing', {
    timeout: 120_000,
  }, async () => {
    const dir = await queueDir('add-hand-off', hostsYaml);
    const store = join(dir, '.beads', 'issues.jsonl');
    const seed = await runYgg(['add', 'before the loop', '--', 'true'], { cwd: dir });
    expect(seed.code, seed.stderr).toBe(0);
    const loop = spawnLoop(dir);
    await waitForTasks(store, (tasks) => tasks[0]?.status === 'closed', 60_000);
    await waitUntil(() => loop.lines().some((l) => l.event === 'loop:state' && l.state === 'running'));

    // bd reads the file, then the user adds a task, then bd renames its (older) copy over it.
    const stale = await readFile(store);
    const added = await runYgg(['add', 'handed to the loop', '--', 'true'], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    const id = added.stdout.trim();
    expect((await readFile(store, 'utf8')).includes(id), 'not in the Beads file alone').toBe(false);
    await writeFile(`${store}.bd.tmp`, stale);
    await rename(`${store}.bd.tmp`, store);

    // The loop ran it and folded it into the file.
    const tasks = await waitForTasks(store, (ts) => ts.find((t) => t.id === id)?.status === 'closed', 60_000);
    expect(tasks.map((t) => t.title).sort()).toEqual(['before the loop', 'handed to the loop']);
    await loop.stop();
    expect((await readTasks(store)).find((t) => t.id === id)?.status).toBe('closed');
  });

  it('with no loop running, writes the Beads file itself (no journal left for nobody to fold)', async () => {
    const dir = await queueDir('add-no-loop', hostsYaml);
    const store = join(dir, '.beads', 'issues.jsonl');
    const added = await runYgg(['add', 'alone', '--', 'true'], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    expect(await readFile(store, 'utf8')).toContain(added.stdout.trim());
  });
});
