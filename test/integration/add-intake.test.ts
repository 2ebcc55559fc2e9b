/**
 * A loop on the file store takes adds from commands on its machine over an owner-only socket
 * (its intake): `ygg add` and `ygg add --from` hand their tasks to it, the queue limits hold as
 * without it, and a socket left by a killed loop or a loop that dies mid-request never loses an
 * add silently.
 */

import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { spawnLoop } from '../helpers/loop-process.js';
import { readTasks, waitForTasks } from '../helpers/store-file.js';
import { queueDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const hostsYaml = (queue = '') => `hosts:
  surtr:
    transport: local
    slots: 2
    sandbox:
      enabled: false
${queue}`;

const thisMachine = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const otherMachine = thisMachine === '00000000' ? '11111111' : '00000000';

const intake = (dir: string) => join(dir, '.ygg', 'intake');
const sockets = (dir: string) => {
  try {
    return readdirSync(intake(dir)).filter((name) => name.endsWith('.sock'));
  } catch {
    return [];
  }
};

async function runningLoop(dir: string) {
  const loop = spawnLoop(dir);
  await loop.logged((l) => l.event === 'loop:state' && l.state === 'running', 60_000);
  // The intake opens just after the loop says it runs; an add before that writes the store itself.
  await waitUntil(() => sockets(dir).length > 0, { timeoutMs: 30_000 });
  return loop;
}

describe('the add intake of a running loop', () => {
  it('takes `ygg add` over an owner-only socket, runs the task, and removes the socket when it stops', {
    timeout: 120_000,
  }, async () => {
    const dir = await queueDir('add-intake', hostsYaml());
    const store = join(dir, '.beads', 'issues.jsonl');
    // A folder left open to everyone (an earlier tool, a careless umask) is narrowed to its owner.
    await mkdir(intake(dir), { recursive: true });
    await chmod(intake(dir), 0o777);
    const loop = await runningLoop(dir);
    const [socket] = sockets(dir);
    expect(socket).toBeDefined();
    expect(statSync(join(intake(dir), socket as string)).mode & 0o777).toBe(0o600);
    expect(statSync(intake(dir)).mode & 0o777).toBe(0o700);

    const added = await runYgg(['add', 'handed over', '--', 'true'], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    const id = added.stdout.trim();
    // The loop wrote it (said in its log), into its journal: bd sees it once folded.
    await loop.logged((l) => l.event === 'task:added' && l.task_id === id, 30_000);
    await waitForTasks(store, (ts) => ts.find((t) => t.id === id)?.status === 'closed', 60_000);
    await loop.stop();
    expect(sockets(dir)).toEqual([]);
    expect((await readTasks(store)).filter((t) => t.id === id)).toHaveLength(1);
  });

  it('answers a request that is not an add with why, and goes on taking adds', {
    timeout: 120_000,
  }, async () => {
    const dir = await queueDir('add-intake-garbage', hostsYaml());
    const store = join(dir, '.beads', 'issues.jsonl');
    const loop = await runningLoop(dir);
    const path = join(intake(dir), sockets(dir)[0] as string);
    const ask = (line: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(path, () => socket.write(line));
        let reply = '';
        socket.on('data', (chunk) => {
          reply += chunk;
        });
        socket.on('end', () => resolve(reply));
        socket.on('error', reject);
      });
    expect(await ask('not json\n')).toMatch(/"error".*a request that is not an add/);
    // A field `ygg add` never sends (an id of one's choosing) is refused, not written.
    const chosen = await ask(
      `${JSON.stringify({ tasks: [{ title: 't', id: 'ygg-mine' }], batch: false })}\n`,
    );
    expect(chosen).toMatch(/a request that is not an add.*id/s);
    expect(JSON.parse(await ask(`${JSON.stringify({ tasks: [{ title: '' }], batch: false })}\n`))).toEqual({
      results: [
        { error: { name: 'YggError', message: 'a task needs a title', hint: 'Pass a non-empty title.' } },
      ],
    });

    const added = await runYgg(['add', 'after the garbage', '--', 'true'], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    await loop.logged((l) => l.event === 'task:added' && l.task_id === added.stdout.trim(), 30_000);
    await loop.stop();
    expect((await readTasks(store)).map((t) => t.title)).toEqual(['after the garbage']);
  });

  it('holds queue.max_size for one add and for a batch, with exit 75 and nothing written', {
    timeout: 120_000,
  }, async () => {
    const dir = await queueDir('add-intake-limits', hostsYaml('queue:\n  max_size: 2\n'));
    const store = join(dir, '.beads', 'issues.jsonl');
    // Paused, the loop claims nothing: the added tasks stay queued and count against the limit.
    expect((await runYgg(['pause'], { cwd: dir })).code).toBe(0);
    const loop = await runningLoop(dir);
    const ids: string[] = [];
    for (const title of ['one', 'two']) {
      const added = await runYgg(['add', title, '--', 'true'], { cwd: dir });
      expect(added.code, added.stderr).toBe(0);
      ids.push(added.stdout.trim());
    }
    for (const id of ids) await loop.logged((l) => l.event === 'task:added' && l.task_id === id, 30_000);

    const third = await runYgg(['add', 'three', '--', 'true'], { cwd: dir });
    expect(third.code).toBe(75);
    expect(third.stderr).toMatch(/the queue is full: 2 open tasks, queue.max_size is 2/);
    expect(third.stderr).toMatch(/raise queue.max_size in hosts.yaml/);
    const batch = join(dir, 'more.txt');
    await writeFile(batch, 'four\nfive\n');
    const bulk = await runYgg(['add', '--from', batch], { cwd: dir });
    expect(bulk.code).toBe(75);
    expect(bulk.stderr).toMatch(/the queue has room for 0 of these 2 tasks/);
    await loop.stop();
    expect((await readTasks(store)).map((t) => t.title).sort()).toEqual(['one', 'two']);
  });

  it('a socket left by a killed loop: `ygg add` writes the store itself and removes it; another machine’s stays', {
    timeout: 120_000,
  }, async () => {
    const dir = await queueDir('add-intake-killed', hostsYaml());
    const store = join(dir, '.beads', 'issues.jsonl');
    const loop = await runningLoop(dir);
    loop.child.kill('SIGKILL');
    await loop.exited;
    expect(sockets(dir)).toHaveLength(1);
    // A loop of another machine on a shared disk: not this machine's to use or remove.
    const elsewhere = `${Date.now()}-${otherMachine}-1-1.sock`;
    await writeFile(join(intake(dir), elsewhere), '');

    const added = await runYgg(['add', 'after the loop died', '--', 'true'], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    expect(await readFile(store, 'utf8')).toContain(added.stdout.trim());
    expect(sockets(dir)).toEqual([elsewhere]);
  });

  it('a loop that takes the request and dies before answering: an error that says the task may be in', async () => {
    const dir = await queueDir('add-intake-dies', hostsYaml());
    await mkdir(intake(dir), { recursive: true, mode: 0o700 });
    // Something listening that reads the request and drops the connection, as a loop killed mid-add.
    const server = createServer((socket) => socket.once('data', () => socket.destroy()));
    const path = join(intake(dir), `${Date.now()}-${thisMachine}-${process.pid}-1.sock`);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const added = await runYgg(['add', 'maybe', '--', 'true'], { cwd: dir });
      expect(added.code).not.toBe(0);
      expect(added.stderr).toMatch(/took the add but closed the connection without an answer/);
      expect(added.stderr).toMatch(/may have been added: `ygg list` shows them/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
