/**
 * The file store's write-ahead journal (`.ygg/issues.jsonl.wal`), with real processes: a writer
 * in journal mode (as `ygg loop` is) whose writes every ygg reader sees at once while bd sees
 * the Beads file alone, folded within a second; nothing acknowledged lost to kill -9; a torn
 * last record dropped and reported; a bd-style rewrite meanwhile keeps its edits and ours.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../src/store/beads-jsonl/wal-format.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { collectOutput, runYgg } from '../helpers/cli.js';
import { useLeakCheck } from '../helpers/leaks.js';
import { spawnLoop } from '../helpers/loop-process.js';
import { beadsIssue, readTasks, waitForTasks } from '../helpers/store-file.js';
import { queueDir, testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const writerScript = new URL('./workers/journal-writer.mjs', import.meta.url).pathname;

interface Queue {
  dir: string;
  path: string;
  wal: string;
}

/** A store of `count` open bd issues `j-1`, `j-2`... */
async function storeOf(name: string, count: number): Promise<Queue> {
  const dir = await testDir(name);
  const path = join(dir, '.beads', 'issues.jsonl');
  await mkdir(join(dir, '.beads'));
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify(beadsIssue(`j-${i + 1}`)));
  await writeFile(path, `${lines.join('\n')}\n`);
  return { dir, path, wal: join(dir, '.ygg', 'issues.jsonl.wal') };
}

/** Starts the journal writer closing `ids`; resolves once it printed `done` (all acknowledged). */
async function writer(
  queue: Queue,
  foldMs: number | 'default',
  ids: string[],
): Promise<{ child: ChildProcess; acked: string[] }> {
  const child = spawn(process.execPath, [writerScript, queue.path, String(foldMs), ...ids], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collectOutput({ stdout: child.stdout!, stderr: child.stderr! });
  const exited = new Promise((resolve) => child.on('close', resolve));
  await Promise.race([
    waitUntil(() => out.stdout().includes('done\n'), { timeoutMs: 30_000, what: 'the writer' }),
    exited.then(() => {
      throw new Error(`the writer exited: ${out.stderr()}`);
    }),
  ]);
  const acked = [...out.stdout().matchAll(/^closed (\S+)$/gm)].map((m) => m[1] as string);
  return { child, acked };
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on('close', () => resolve());
    child.kill('SIGKILL');
  });
}

async function listed(queue: Queue): Promise<{ tasks: Map<string, Task>; stderr: string }> {
  const result = await runYgg(['list', '--json'], { cwd: queue.dir });
  expect(result.code, result.stderr).toBe(0);
  const tasks = JSON.parse(result.stdout) as Task[];
  return { tasks: new Map(tasks.map((t) => [t.id, t])), stderr: result.stderr };
}

const statusIn = (tasks: Task[], id: string) => tasks.find((t) => t.id === id)?.status;

/** A journal left by a writer that died a while ago (a reader folds one older than two seconds). */
const ageJournal = (wal: string) => utimes(wal, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));

describe('the file store write-ahead journal', () => {
  useLeakCheck();

  it('shows a journal-mode writer to every ygg reader before the fold; bd sees the file alone; kill -9 loses nothing', async () => {
    const queue = await storeOf('journal-reader', 5);
    const ids = ['j-1', 'j-2', 'j-3'];
    const { child, acked } = await writer(queue, 60_000, ids);
    expect(acked).toEqual(ids);

    // What bd and an editor see: the Beads file alone, not yet folded.
    const onDisk = await readTasks(queue.path);
    for (const id of ids) expect(statusIn(onDisk, id), `${id} in the Beads file`).toBe('open');
    expect(statSync(queue.wal).size).toBeGreaterThan(0);

    // Another ygg process sees the journal laid over the file.
    const before = await listed(queue);
    for (const id of ids) expect(before.tasks.get(id)?.status, `${id} listed`).toBe('closed');
    expect(before.tasks.get('j-4')?.status).toBe('open');

    // Killed with its writes unfolded: the next opener still sees them, and folds them into
    // the Beads file under the lock once the journal's writer is gone.
    await kill9(child);
    expect((await listed(queue)).tasks.get('j-3')?.status).toBe('closed');
    await ageJournal(queue.wal);
    const after = await listed(queue);
    for (const id of ids) expect(after.tasks.get(id)?.status).toBe('closed');
    const folded = await readTasks(queue.path);
    for (const id of ids) expect(statusIn(folded, id), `${id} folded into the Beads file`).toBe('closed');
    expect(statusIn(folded, 'j-4')).toBe('open');
    expect(statSync(queue.wal).size).toBe(0);
  });

  it('folds the journal into the Beads file within about a second of the write', async () => {
    const queue = await storeOf('journal-fold', 3);
    const { child, acked } = await writer(queue, 'default', ['j-1', 'j-2']);
    try {
      expect(acked).toEqual(['j-1', 'j-2']);
      // The fold is the Beads file changing: waited on as an event, bounded generously.
      const tasks = await waitForTasks(
        queue.path,
        (all) => statusIn(all, 'j-1') === 'closed' && statusIn(all, 'j-2') === 'closed',
        15_000,
      );
      expect(statusIn(tasks, 'j-3')).toBe('open');
      await waitUntil(() => statSync(queue.wal).size === 0, { timeoutMs: 15_000, what: 'an empty journal' });
    } finally {
      await kill9(child);
    }
  });

  it('drops a torn last record (never applied in part), reports it with the journal line, and keeps the whole ones', async () => {
    const queue = await storeOf('journal-torn', 4);
    const { child, acked } = await writer(queue, 60_000, ['j-1', 'j-2', 'j-3']);
    expect(acked).toHaveLength(3);
    await kill9(child);
    // The last record (j-3's close) as a crash mid-write leaves it: cut short.
    const text = await readFile(queue.wal, 'latin1');
    const lastStart = text.lastIndexOf('\n', text.length - 2) + 1;
    await truncate(queue.wal, lastStart + Math.floor((text.length - lastStart) / 2));

    const reader = await listed(queue);
    expect(reader.tasks.get('j-2')?.status).toBe('closed');
    expect(reader.tasks.get('j-3')?.status, 'the torn record is not applied').toBe('open');

    await ageJournal(queue.wal);
    const folding = await listed(queue);
    expect(folding.stderr).toMatch(/issues\.jsonl\.wal:3: a journal record cut short by a crash/);
    const folded = await readTasks(queue.path);
    expect(['j-1', 'j-2', 'j-3', 'j-4'].map((id) => statusIn(folded, id))).toEqual([
      'closed',
      'closed',
      'open',
      'open',
    ]);
    expect(statSync(queue.wal).size).toBe(0);
  });

  it('shows a record being written only once it is whole, and does not call it torn meanwhile', async () => {
    const queue = await storeOf('journal-partial', 3);
    const { child } = await writer(queue, 60_000, ['j-1']);
    try {
      // A record closing j-3 as a writer appends it under the lock: first half, then the rest.
      const before = Buffer.from(JSON.stringify(beadsIssue('j-3')));
      const after = Buffer.from(
        JSON.stringify(beadsIssue('j-3', { status: 'closed', close_reason: 'by hand' })),
      );
      const record = encodeRecord([{ id: 'j-3', before, after }]);
      const half = Math.floor(record.length / 2);
      await appendFile(queue.wal, record.subarray(0, half));
      const midway = await listed(queue);
      expect(midway.tasks.get('j-1')?.status).toBe('closed');
      expect(midway.tasks.get('j-3')?.status, 'half a record is not applied').toBe('open');
      expect(midway.stderr).not.toMatch(/cut short/);
      await appendFile(queue.wal, record.subarray(half));
      const whole = await listed(queue);
      expect(whole.tasks.get('j-3')).toMatchObject({ status: 'closed', close_reason: 'by hand' });
    } finally {
      await kill9(child);
    }
  });

  it('keeps both a bd-style rewrite made while writes are unfolded and those writes', async () => {
    const queue = await storeOf('journal-bd', 4);
    const { child } = await writer(queue, 60_000, ['j-1', 'j-2']);
    // bd's way: read the file (without the journal), change it, write a temp file, rename it over.
    const theirs = await readTasks(queue.path);
    const edit = (id: string, change: Partial<Task>) =>
      Object.assign(theirs.find((t) => t.id === id)!, change);
    edit('j-1', { title: 'renamed by bd', updated_at: '2026-06-01T00:00:00Z' });
    edit('j-2', {
      priority: 0,
      metadata: { team: 'ops' },
      comments: [
        { id: 1, issue_id: 'j-2', author: 'bd', text: 'a note from bd', created_at: '2026-06-01T00:00:00Z' },
      ],
      updated_at: '2026-06-01T00:00:00Z',
    });
    edit('j-3', { title: 'j-3 edited by bd' });
    await writeFile(`${queue.path}.bd.tmp`, `${theirs.map((t) => JSON.stringify(t)).join('\n')}\n`);
    await rename(`${queue.path}.bd.tmp`, queue.path);

    const seen = (await listed(queue)).tasks;
    expect(seen.get('j-1')).toMatchObject({ status: 'closed', title: 'renamed by bd' });
    expect(seen.get('j-2')).toMatchObject({ status: 'closed', priority: 0, metadata: { team: 'ops' } });

    // The writer's close folds: the Beads file holds both sides' changes.
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('close', resolve));
    const folded = new Map((await readTasks(queue.path)).map((t) => [t.id, t]));
    expect(folded.get('j-1')).toMatchObject({
      status: 'closed',
      title: 'renamed by bd',
      close_reason: 'done',
    });
    expect(folded.get('j-2')).toMatchObject({ status: 'closed', priority: 0, metadata: { team: 'ops' } });
    expect(folded.get('j-2')?.comments?.map((c) => c.text)).toEqual([
      'a note from bd',
      'closed by the writer',
    ]);
    expect(folded.get('j-3')).toMatchObject({ status: 'open', title: 'j-3 edited by bd' });
    expect(folded.get('j-4')?.status).toBe('open');
    expect(statSync(queue.wal).size).toBe(0);
  });

  it('takes unfolded records along when a one-shot command rewrites the file (ygg cancel)', async () => {
    const queue = await storeOf('journal-cancel', 3);
    const { child } = await writer(queue, 60_000, ['j-1', 'j-2']);
    try {
      const cancel = await runYgg(['cancel', 'j-3'], { cwd: queue.dir });
      expect(cancel.code, cancel.stderr).toBe(0);
      const onDisk = await readTasks(queue.path);
      expect(onDisk.map((t) => [t.id, t.status, t.close_reason])).toEqual([
        ['j-1', 'closed', 'done'],
        ['j-2', 'closed', 'done'],
        ['j-3', 'closed', 'cancelled'],
      ]);
      expect(statSync(queue.wal).size).toBe(0);
    } finally {
      await kill9(child);
    }
  });

  it('loses no acknowledged outcome when a running ygg loop is killed with SIGKILL', async () => {
    // A short lease: the next loop takes over what the killed one held without a minute's wait.
    const hosts = 'hosts:\n  box: { transport: local, slots: 4 }\nqueue:\n  lease: 3s\n';
    const dir = await queueDir('journal-loop-kill', hosts);
    const path = join(dir, '.beads', 'issues.jsonl');
    const ids = Array.from({ length: 60 }, (_, i) => `k-${i + 1}`);
    const meta = { metadata: { ygg: { handler: 'simulate', simulate_ms: 40 } } };
    await writeFile(path, `${ids.map((id) => JSON.stringify(beadsIssue(id, meta))).join('\n')}\n`);
    const loop = spawnLoop(dir);
    await waitUntil(() => loop.lines().filter((l) => l.event === 'task:succeeded').length >= 12, {
      timeoutMs: 60_000,
      what: '12 tasks done',
    });
    loop.child.kill('SIGKILL');
    await loop.exited;
    const acked = loop
      .lines()
      .filter((l) => l.event === 'task:succeeded')
      .map((l) => String(l.task_id));
    expect(existsSync(join(dir, '.ygg', 'issues.jsonl.wal')), 'the loop wrote through its journal').toBe(
      true,
    );

    const seen = (await runYgg(['list', '--json'], { cwd: dir })).stdout;
    const listedNow = new Map((JSON.parse(seen) as Task[]).map((t) => [t.id, t]));
    for (const id of acked) expect(listedNow.get(id)?.status, `acknowledged ${id}`).toBe('closed');

    // The next loop replays the journal, takes over what the dead one held, and ends the rest.
    const rest = await runYgg(['loop', '--until-idle', '--no-status'], { cwd: dir, timeoutMs: 120_000 });
    expect(rest.code, rest.stderr).toBe(0);
    const tasks = await readTasks(path);
    for (const id of ids) {
      const task = tasks.find((t) => t.id === id);
      expect(task?.status, id).toBe('closed');
      const successes = (yggOf(task as Task).history ?? []).filter((h) => h.outcome === 'succeeded');
      expect(successes, `${id} succeeded once`).toHaveLength(1);
    }
  }, 180_000);
});
