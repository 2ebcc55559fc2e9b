import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/observe/counters.js';
import { repoRoot, runYgg } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

async function queueDir(name: string, queueYaml: string): Promise<string> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
  await writeFile(
    join(dir, 'hosts.yaml'),
    // A model endpoint on the host, so a plain title (a general task) is one it can run.
    `hosts:\n  surtr: { transport: local, slots: 2, model: { api: ollama, url: 'http://127.0.0.1:11434', model: qwen2.5:7b } }\nqueue:\n${queueYaml}`,
  );
  return dir;
}

describe('backpressure and queue position through the CLI', () => {
  it('tells the position on add, refuses past a limit with exit 75 and leaves the store as it was', async () => {
    const dir = await queueDir('backpressure', '  strategy: fair\n  max_size: 4\n  max_per_submitter: 2\n');
    const add = (title: string, as: string, ...more: string[]) =>
      runYgg(['add', title, '--as', as, ...more], { cwd: dir });
    const a1 = await add('a1', 'alice');
    expect(a1.code, a1.stderr).toBe(0);
    expect(a1.stdout).toMatch(/^[a-z]+-[a-z0-9]+\n$/);
    expect(a1.stderr).toBe('queued, position 1 of 1\n');
    expect((await add('a2', 'alice')).stderr).toBe('queued, position 2 of 2\n');
    // Fair turns: bob's first task goes before alice's second.
    const b1 = await add('b1', 'bob', '--json');
    expect(JSON.parse(b1.stdout)).toMatchObject({ position: 2, of: 3, state: 'queued' });
    const file = join(dir, '.beads', 'issues.jsonl');
    const before = await readFile(file);

    const third = await add('a3', 'alice');
    expect(third.code).toBe(75);
    expect(third.stdout).toBe('');
    expect(third.stderr).toMatch(/alice has 2 open tasks, queue.max_per_submitter is 2/);
    expect(third.stderr).toMatch(/raise queue.max_per_submitter in hosts.yaml/);
    expect(await readFile(file)).toEqual(before);

    expect((await add('c1', 'carol')).code).toBe(0);
    const full = await add('d1', 'dave');
    expect(full.code).toBe(75);
    expect(full.stderr).toMatch(/the queue is full: 4 open tasks, queue.max_size is 4/);
    const after = await readFile(file);
    expect((await add('d2', 'dave')).code).toBe(75);
    expect(await readFile(file)).toEqual(after);

    const position = await runYgg(['position', JSON.parse(b1.stdout).id, '--json'], { cwd: dir });
    expect(position.code, position.stderr).toBe(0);
    expect(JSON.parse(position.stdout)).toMatchObject({ state: 'queued', position: 2, of: 4 });
    const plain = await runYgg(['position', a1.stdout.trim()], { cwd: dir });
    expect(plain.stdout).toBe(`${a1.stdout.trim()}: queued, position 1 of 4\n`);
  });

  it('ygg create adds what fits under the queue limits and says why the rest were not', async () => {
    const dir = await queueDir('create-limits', '  max_size: 4\n');
    expect((await runYgg(['add', 'first', '--as', 'ann'], { cwd: dir })).code).toBe(0);
    const created = await runYgg(['create', '5', '--as', 'bob'], { cwd: dir });
    expect(created.code).toBe(75);
    expect(created.stdout.trim().split('\n')).toHaveLength(3);
    expect(created.stderr).toMatch(
      /added 3 of 5 tasks: the queue is full: 4 open tasks, queue.max_size is 4/,
    );
    const lines = (await readFile(join(dir, '.beads', 'issues.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(4);
  });

  it('lets only one of several concurrent adds take the last place', async () => {
    const dir = await queueDir('backpressure-race', '  max_size: 1\n');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => runYgg(['add', `racer ${i}`, '--as', `r${i}`], { cwd: dir })),
    );
    expect(results.map((r) => r.code).sort()).toEqual([0, 75, 75, 75, 75, 75]);
    const lines = (await readFile(join(dir, '.beads', 'issues.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
  });
});

describe('counters kept beside the store', () => {
  it('loses no increment from 20 processes incrementing one counter 50 times each', async () => {
    const dir = await testDir('counters');
    await mkdir(join(dir, '.beads'));
    await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
    const runtimeDir = join(dir, '.ygg');
    const worker = join(repoRoot, 'test', 'integration', 'workers', 'counter-incrementer.mjs');
    const exits = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<number | null>((resolve, reject) => {
            const child = spawn(process.execPath, [worker, runtimeDir, 'grader', '50'], {
              stdio: ['ignore', 'ignore', 'inherit'],
            });
            child.on('error', reject);
            child.on('close', resolve);
          }),
      ),
    );
    expect(exits).toEqual(Array(20).fill(0));
    const data = await Counters.read(runtimeDir);
    expect(data.types.grader?.attempts).toBe(1000);
    expect(data.submitters.shared?.attempts).toBe(1000);
    // `ygg stats` reads the same file beside the store.
    const stats = await runYgg(['stats', '--json'], { cwd: dir });
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout).types.grader).toEqual({
      attempts: 1000,
      evaluations: 0,
      successes: 0,
      failures: 0,
    });
  }, 120_000);
  it('says which counters file is unreadable, and a writer moves it aside and counts on', async () => {
    const dir = await testDir('counters-corrupt');
    await mkdir(join(dir, '.beads'));
    await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
    const runtimeDir = join(dir, '.ygg');
    await mkdir(runtimeDir);
    await writeFile(join(runtimeDir, 'counters.json'), '{bad');
    const stats = await runYgg(['stats'], { cwd: dir });
    expect(stats.code).toBe(1);
    expect(stats.stderr).toMatch(/counters\.json is not valid JSON/);
    expect(stats.stderr).not.toMatch(/internal error/);

    const notices: string[] = [];
    const counters = new Counters(runtimeDir, { onNotice: (m) => notices.push(m) });
    counters.add({ submitter: 'ann', type: 'grader', field: 'attempts' });
    await counters.flush();
    expect(notices[0]).toMatch(/moved to .*counters\.json\.corrupt-/);
    expect((await Counters.read(runtimeDir)).types.grader?.attempts).toBe(1);
  });
});
