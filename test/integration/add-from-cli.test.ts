import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

interface StoredTask {
  id: string;
  title: string;
  priority: number;
  labels?: string[];
  description?: string;
  created_by?: string;
  dependencies?: Array<{ depends_on_id: string; type: string }>;
  metadata?: { ygg?: Record<string, unknown> };
}

async function workspace(name: string, queueYaml?: string): Promise<{ dir: string; store: string }> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  const store = join(dir, '.beads', 'issues.jsonl');
  await writeFile(store, '');
  if (queueYaml)
    await writeFile(
      join(dir, 'hosts.yaml'),
      `hosts:\n  surtr: { transport: local, slots: 2 }\nqueue:\n${queueYaml}`,
    );
  return { dir, store };
}

async function storedTasks(store: string): Promise<StoredTask[]> {
  const text = await readFile(store, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as StoredTask);
}

describe('ygg add --from', () => {
  it('adds one task per title of a file, each with the options given once, and prints their ids in order', async () => {
    const { dir, store } = await workspace('add-from-titles');
    await writeFile(join(dir, 'titles.txt'), 'build the docs\r\n\ntest on skadi\n  {not json, a title}\n');
    const added = await runYgg(
      [
        'add',
        '--from',
        'titles.txt',
        '--label',
        'night',
        '--priority',
        '1',
        '--as',
        'ann',
        '--',
        'make',
        'all',
      ],
      { cwd: dir },
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toMatch(/added 3 tasks/);
    const tasks = await storedTasks(store);
    expect(added.stdout).toBe(tasks.map((t) => `${t.id}\n`).join(''));
    expect(tasks.map((t) => t.title)).toEqual(['build the docs', 'test on skadi', '  {not json, a title}']);
    for (const task of tasks) {
      expect(task).toMatchObject({ priority: 1, labels: ['night'], created_by: 'ann' });
      expect(task.metadata).toEqual({ ygg: { handler: 'shell', argv: ['make', 'all'] } });
    }
  });

  it('reads JSON Lines from stdin: a line sets its own fields over the options, labels add up', async () => {
    const { dir, store } = await workspace('add-from-jsonl');
    const first = (await runYgg(['add', 'the base image'], { cwd: dir })).stdout.trim();
    const input = [
      JSON.stringify({ title: 'plain' }),
      '',
      JSON.stringify({
        title: 'graded',
        type: 'grader',
        priority: 0,
        labels: ['gpu'],
        description: 'run 4',
        blocked_by: [first],
        timeout: '30s',
        hard_timeout: 60,
        attempts: 2,
        as: 'bob',
      }),
      JSON.stringify({ title: 'say hi', argv: ['echo', 'hi', '$(id)'] }),
      JSON.stringify({ title: 'pretend', simulate_ms: '2s' }),
    ].join('\n');
    const added = await runYgg(['add', '--from', '-', '--label', 'batch', '--priority', '3', '--json'], {
      cwd: dir,
      input,
    });
    expect(added.code, added.stderr).toBe(0);
    const tasks = (await storedTasks(store)).slice(1);
    expect(JSON.parse(added.stdout)).toEqual([
      { line: 1, id: tasks[0]?.id },
      { line: 3, id: tasks[1]?.id },
      { line: 4, id: tasks[2]?.id },
      { line: 5, id: tasks[3]?.id },
    ]);
    expect(tasks[0]).toMatchObject({ title: 'plain', priority: 3, labels: ['batch'] });
    expect(tasks[0]?.metadata).toBeUndefined();
    expect(tasks[1]).toMatchObject({
      title: 'graded',
      priority: 0,
      labels: ['batch', 'gpu', 'grader'],
      description: 'run 4',
      created_by: 'bob',
      dependencies: [{ depends_on_id: first, type: 'blocks' }],
      metadata: { ygg: { timeout_ms: 30_000, hard_timeout_ms: 60_000, attempts: 2 } },
    });
    expect(tasks[2]?.metadata).toEqual({ ygg: { handler: 'shell', argv: ['echo', 'hi', '$(id)'] } });
    expect(tasks[3]?.metadata).toEqual({ ygg: { handler: 'simulate', simulate_ms: 2000 } });
  });

  it('refuses the whole input when a line is bad, naming each bad line, and writes nothing', async () => {
    const { dir, store } = await workspace('add-from-bad');
    await runYgg(['add', 'kept'], { cwd: dir });
    const before = await readFile(store, 'utf8');
    await writeFile(
      join(dir, 'tasks.jsonl'),
      [
        JSON.stringify({ title: 'fine' }),
        JSON.stringify({ title: 'typo', priorty: 1 }),
        '{"title": "cut off"',
        JSON.stringify({ title: 'too urgent', priority: 7 }),
        JSON.stringify({ title: '   ' }),
        JSON.stringify({ title: 'no such blocker', blocked_by: ['ygg-nope'] }),
        JSON.stringify({ title: 'no command', handler: 'shell' }),
        JSON.stringify({ title: 'odd timeouts', timeout: '1m', hard_timeout: '10s' }),
        JSON.stringify(['a list']),
      ].join('\n'),
    );
    const refused = await runYgg(['add', '--from', 'tasks.jsonl'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    const errors = refused.stderr;
    expect(errors).toMatch(/nothing was added/);
    expect(errors).toMatch(/tasks\.jsonl:2: unknown key priorty/);
    expect(errors).toMatch(/tasks\.jsonl:3: not valid JSON/);
    expect(errors).toMatch(/tasks\.jsonl:4: priority: /);
    expect(errors).toMatch(/tasks\.jsonl:5: title: a task needs a non-empty title/);
    expect(errors).toMatch(/tasks\.jsonl:6: blocked by ygg-nope: no such task/);
    expect(errors).toMatch(/tasks\.jsonl:7: the shell handler needs the command/);
    expect(errors).toMatch(/tasks\.jsonl:8: --hard-timeout must not be shorter than --timeout/);
    expect(errors).toMatch(/tasks\.jsonl:9: a line must be a JSON object/);
    expect(errors).not.toMatch(/tasks\.jsonl:1:/);
    expect(await readFile(store, 'utf8')).toBe(before);

    const titles = await runYgg(['add', '--from', '-', '--handler', 'no-such-plugin'], {
      cwd: dir,
      input: 'one\ntwo\n',
    });
    expect(titles.code).toBe(1);
    expect(titles.stderr).toMatch(/stdin:1: no handler plugin named no-such-plugin \(known: .*shell/);
    expect(titles.stderr).toMatch(/stdin:2: no handler plugin named no-such-plugin/);
    const long = await runYgg(['add', '--from', '-'], { cwd: dir, input: `ok\n${'x'.repeat(501)}\n` });
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(/stdin:2: title: longer than 500 bytes/);
    expect(await readFile(store, 'utf8')).toBe(before);
  });

  it('says what is wrong with the input itself: missing, empty, or given with a title', async () => {
    const { dir, store } = await workspace('add-from-input');
    const missing = await runYgg(['add', '--from', 'nowhere.txt'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read nowhere\.txt/);
    const empty = await runYgg(['add', '--from', '-'], { cwd: dir, input: '\n\n' });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/no tasks in stdin/);
    const both = await runYgg(['add', 'a title', '--from', '-'], { cwd: dir, input: 'x\n' });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give a title or --from, not both/);
    const neither = await runYgg(['add'], { cwd: dir });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/ygg add needs a title, or --from FILE/);
    expect(await readFile(store, 'utf8')).toBe('');
  });

  it('refuses a batch past queue.max_size or max_per_submitter with exit 75 and adds none of it', async () => {
    const { dir, store } = await workspace('add-from-limits', '  max_size: 4\n  max_per_submitter: 3\n');
    expect((await runYgg(['add', 'first', '--as', 'ann'], { cwd: dir })).code).toBe(0);
    const four = await runYgg(['add', '--from', '-', '--as', 'bob'], { cwd: dir, input: 'a\nb\nc\nd\n' });
    expect(four.code).toBe(75);
    expect(four.stdout).toBe('');
    expect(four.stderr).toMatch(
      /the queue has room for 3 of these 4 tasks: 1 open task, queue.max_size is 4; nothing was added/,
    );
    expect(four.stderr).toMatch(/raise queue.max_size in hosts.yaml/);
    expect(await storedTasks(store)).toHaveLength(1);

    const anns = await runYgg(['add', '--from', '-', '--as', 'ann'], { cwd: dir, input: 'a\nb\nc\n' });
    expect(anns.code).toBe(75);
    expect(anns.stderr).toMatch(/ann has 1 open task and would add 3, queue.max_per_submitter is 3/);
    expect(await storedTasks(store)).toHaveLength(1);

    const fits = await runYgg(['add', '--from', '-', '--as', 'bob'], { cwd: dir, input: 'a\nb\nc\n' });
    expect(fits.code, fits.stderr).toBe(0);
    expect(await storedTasks(store)).toHaveLength(4);
    // One add past the limit is refused with the same exit status.
    expect((await runYgg(['add', 'one more', '--as', 'cy'], { cwd: dir })).code).toBe(75);
  });
});
