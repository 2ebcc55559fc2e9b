/**
 * The CLI's output conventions (issue 16, problem 12), through the real `ygg` child process:
 * `--json` on every command that prints state, bad filter values refused, long fields cut in
 * tables, numbers rounded, plurals right, pause and resume that say what they did, and one type
 * for a task in `list` and `stats`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { queueDir, testDir } from '../helpers/tmp.js';

const workspace = (name: string): Promise<string> =>
  queueDir(name, 'hosts:\n  surtr: { transport: local, slots: 2 }\n');

/** Adds a task titled `short`, then gives it `title` in the file itself, as bd could. */
async function retitle(dir: string, short: string, title: string): Promise<void> {
  expect((await ygg(['add', short], dir)).code).toBe(0);
  const file = join(dir, '.beads', 'issues.jsonl');
  const task = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, `${JSON.stringify({ ...task, title })}\n`);
}

async function ygg(args: string[], cwd: string, input?: string) {
  return runYgg(args, { cwd, ...(input === undefined ? {} : { input }) });
}

/** The one JSON value a `--json` run printed: the whole of stdout, nothing else on it. */
function parsed(stdout: string): unknown {
  expect(stdout.endsWith('\n')).toBe(true);
  return JSON.parse(stdout);
}

describe('list filters', () => {
  it('refuses a status or a type it does not know, naming the ones it takes, with exit 2', async () => {
    const dir = await workspace('filters');
    expect((await ygg(['add', 'one task'], dir)).code).toBe(0);
    const status = await ygg(['list', '--status', 'bogus'], dir);
    expect(status.code).toBe(2);
    expect(status.stdout).toBe('');
    expect(status.stderr).toMatch(
      /^ygg: option '--status <status>' argument 'bogus' is invalid\. .*open, in_progress/,
    );
    expect(status.stderr.split('\n').filter((l) => l.startsWith('ygg:'))).toHaveLength(1);
    const type = await ygg(['list', '--type', 'bogus'], dir);
    expect(type.code).toBe(2);
    expect(type.stdout).toBe('');
    expect(type.stderr).toMatch(/^ygg: no type bogus here: use one of .*general/);
    expect(type.stderr.split('\n').filter((l) => l.startsWith('ygg:'))).toHaveLength(1);
    // Good values still filter; a state the column shows (dead, held) is a status too.
    const open = await ygg(['list', '--status', 'open', '--type', 'general'], dir);
    expect(open.code).toBe(0);
    expect(open.stdout).toMatch(/\topen\tgeneral\tone task\n$/);
    expect((await ygg(['list', '--status', 'dead'], dir)).stdout).toBe('');
  });
});

describe('long fields in tables', () => {
  it('cuts a 5 MB title to one short line in list; show and --json keep all of it', async () => {
    const dir = await workspace('long-title');
    // `ygg add` takes 500 bytes at most; bd, or another writer of the file, is not so strict.
    const title = `start ${'x'.repeat(5 * 2 ** 20)} end`;
    await retitle(dir, 'short', title);
    const list = await ygg(['list'], dir);
    expect(list.code).toBe(0);
    expect(list.stdout.length).toBeLessThan(200);
    expect(list.stdout).toMatch(/\tstart x+…\n$/);
    const json = parsed((await ygg(['list', '--json'], dir)).stdout) as Array<{ title: string }>;
    expect(json[0]?.title).toBe(title);
    const id = list.stdout.split('\t')[0] ?? '';
    expect((await ygg(['show', id], dir)).stdout).toContain(' end\n');
  });

  it('puts a title with line breaks on one line', async () => {
    const dir = await workspace('multiline-title');
    await retitle(dir, 'short', 'first\nsecond\tthird');
    const list = await ygg(['list'], dir);
    expect(list.stdout.trim().split('\n')).toHaveLength(1);
    expect(list.stdout).toMatch(/\tfirst second third\n$/);
  });
});

describe('one type for a task', () => {
  it('lists a task by the type it ran as, the one stats counts, when the loop ran with another hosts.yaml', async () => {
    // As in the RL example: the loop runs with `--config` elsewhere; `ygg list` there finds none.
    const dir = await testDir('ran-as');
    await mkdir(join(dir, 'work', '.beads'), { recursive: true });
    await writeFile(join(dir, 'work', '.beads', 'issues.jsonl'), '');
    await writeFile(
      join(dir, 'rl.yaml'),
      'hosts:\n  surtr: { transport: local, slots: 2 }\ntypes:\n  rollout: { hosts: [surtr] }\ntype_rules:\n  - { type: rollout, labels: [rollout] }\n',
    );
    const work = join(dir, 'work');
    expect(
      (await ygg(['add', 'rollout: problem 1', '--label', 'rollout', '--simulate-ms', '5'], work)).code,
    ).toBe(0);
    const loop = await runYgg(['loop', '--until-idle', '--no-status', '--config', join(dir, 'rl.yaml')], {
      cwd: work,
      timeoutMs: 60_000,
    });
    expect(loop.code, loop.stderr).toBe(0);
    const stats = parsed((await ygg(['stats', '--json'], work)).stdout) as { types: Record<string, unknown> };
    expect(Object.keys(stats.types)).toEqual(['rollout']);
    const list = await ygg(['list'], work);
    expect(list.stdout).toMatch(/\tclosed\trollout\trollout: problem 1\n$/);
    const show = parsed((await ygg(['show', list.stdout.split('\t')[0] ?? '', '--json'], work)).stdout);
    expect(show).toMatchObject({ type: 'rollout' });
    expect((await ygg(['list', '--type', 'rollout'], work)).stdout).toBe(list.stdout);
  });
});

/** Runs the queue until nothing is left to run (exit 0 or 3: some tasks dead or held). */
async function runQueue(dir: string): Promise<void> {
  const loop = await runYgg(['loop', '--until-idle', '--no-status'], { cwd: dir, timeoutMs: 60_000 });
  expect(loop.signal, loop.stderr).toBeNull();
}

/** A task that fails its only attempt: on the dead-letter list once the queue has run. */
async function deadTask(dir: string, title = 'always fails'): Promise<string> {
  const added = await ygg(['add', title, '--attempts', '1', '--handler', 'shell', '--', 'false'], dir);
  expect(added.code, added.stderr).toBe(0);
  await runQueue(dir);
  return added.stdout.trim();
}

describe('--json on every command that prints state', () => {
  it('create, pause, resume and hosts drain print one JSON value and nothing else', async () => {
    const dir = await workspace('json-switches');
    const created = await ygg(['create', '2', '--json'], dir);
    expect(created.code).toBe(0);
    const { ids } = parsed(created.stdout) as { ids: string[] };
    expect(ids).toHaveLength(2);
    expect((await ygg(['list'], dir)).stdout).toContain(ids[0]);
    expect(parsed((await ygg(['pause', '--json'], dir)).stdout)).toEqual({ paused: true, changed: true });
    expect(parsed((await ygg(['pause', '--json'], dir)).stdout)).toEqual({ paused: true, changed: false });
    expect(parsed((await ygg(['resume', '--json'], dir)).stdout)).toEqual({ paused: false, changed: true });
    expect(parsed((await ygg(['resume', '--json'], dir)).stdout)).toEqual({ paused: false, changed: false });
    expect(parsed((await ygg(['hosts', 'drain', 'surtr', '--json'], dir)).stdout)).toEqual({
      host: 'surtr',
      drained: true,
      drained_hosts: ['surtr'],
    });
    expect(parsed((await ygg(['hosts', 'drain', 'surtr', '--undo', '--json'], dir)).stdout)).toEqual({
      host: 'surtr',
      drained: false,
      drained_hosts: [],
    });
  });

  it('cancel, retry and logs print the task as one JSON object', async () => {
    const dir = await workspace('json-tasks');
    const open = (await ygg(['add', 'to cancel'], dir)).stdout.trim();
    const cancelled = await ygg(['cancel', open, '--json'], dir);
    expect(cancelled.code).toBe(0);
    expect(parsed(cancelled.stdout)).toEqual({ id: open, status: 'closed', close_reason: 'cancelled' });
    const dead = await deadTask(dir);
    const log = parsed((await ygg(['logs', dead, '--json'], dir)).stdout) as Record<string, unknown>;
    expect(log).toMatchObject({ id: dead, title: 'always fails', status: 'blocked', dead: { attempts: 1 } });
    expect(log.attempts).toEqual([expect.objectContaining({ attempt: 1, host: 'surtr', outcome: 'failed' })]);
    const retried = await ygg(['retry', dead, '--json'], dir);
    expect(retried.code).toBe(0);
    expect(parsed(retried.stdout)).toEqual({ id: dead, status: 'open' });
    const follow = await ygg(['logs', dead, '--json', '--follow'], dir);
    expect(follow.code).toBe(2);
    expect(follow.stderr).toMatch(/^ygg: --json prints the log once/);
  });

  it('init prints what it made and what it kept', async () => {
    const dir = await testDir('json-init');
    const first = await ygg(['init', '--json'], dir);
    expect(first.code).toBe(0);
    expect(parsed(first.stdout)).toEqual({
      done: ['.beads/issues.jsonl', 'hosts.yaml', '.gitignore'],
      kept: [],
    });
    expect(parsed((await ygg(['init', '--json'], dir)).stdout)).toEqual({
      done: [],
      kept: ['.beads/issues.jsonl', 'hosts.yaml', '.gitignore'],
    });
  });
});

describe('pause and resume', () => {
  it('say when there was nothing to do, and add says the queue is paused', async () => {
    const dir = await workspace('pause-texts');
    const resume = await ygg(['resume'], dir);
    expect(resume.code).toBe(0);
    expect(resume.stdout).toBe('the queue is not paused: nothing to resume\n');
    expect((await ygg(['pause'], dir)).stdout).toBe(
      'queue paused: no new tasks start; running ones finish\n',
    );
    expect((await ygg(['pause'], dir)).stdout).toMatch(/^the queue is already paused/);
    const added = await ygg(['add', 'waits'], dir);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^ygg-\w+\n$/);
    expect(added.stderr).toContain('ygg: the queue is paused: the task waits until `ygg resume`\n');
    const bulk = await ygg(['add', '--from', '-'], dir, 'one\ntwo\n');
    expect(bulk.stderr).toContain('ygg: the queue is paused: the 2 tasks wait until `ygg resume`\n');
    const created = await ygg(['create', '3'], dir);
    expect(created.stderr).toContain('ygg: the queue is paused: the 3 tasks wait until `ygg resume`\n');
    expect((await ygg(['resume'], dir)).stdout).toBe('queue resumed: tasks start again\n');
    expect((await ygg(['add', 'runs'], dir)).stderr).not.toContain('paused');
  });
});

describe('plurals and long fields elsewhere', () => {
  it('says 1 attempt, not 1 attempts, and cuts a long title in dlq', async () => {
    const dir = await workspace('plurals');
    const long = `fails ${'y'.repeat(400)}`;
    const dead = await deadTask(dir, long);
    const dlq = await ygg(['dlq'], dir);
    expect(dlq.stdout).toMatch(new RegExp(`^${dead}  1 attempt  `));
    expect(dlq.stdout).toContain('fails yyy');
    expect(dlq.stdout).not.toContain('y'.repeat(100));
    expect((parsed((await ygg(['dlq', '--json'], dir)).stdout) as Array<{ title: string }>)[0]?.title).toBe(
      long,
    );
    expect((await ygg(['logs', dead], dir)).stdout).toMatch(/after 1 attempt\n/);
  });

  it('cuts a long title in what loop --until-idle leaves, and counts the tasks left right', async () => {
    const dir = await workspace('idle-report');
    const dead = await deadTask(dir);
    const title = `waits ${'w'.repeat(400)}`;
    expect((await ygg(['add', title, '--blocked-by', dead, '--simulate-ms', '1'], dir)).code).toBe(0);
    const loop = await runYgg(['loop', '--until-idle', '--no-status'], { cwd: dir, timeoutMs: 60_000 });
    expect(loop.code, loop.stderr).toBe(3);
    expect(loop.stderr).toContain('nothing more can run here; 1 task left:\n');
    const row = loop.stderr.split('\n').find((line) => line.includes('waits www')) ?? '';
    expect(row).toMatch(/waits w+…: held by/);
    expect(row.length).toBeLessThan(200);
  });

  it('cuts a long submitter in stats', async () => {
    const dir = await workspace('stats-names');
    const who = `someone-${'z'.repeat(300)}`;
    expect((await ygg(['add', 'quick', '--simulate-ms', '1', '--as', who], dir)).code).toBe(0);
    await runQueue(dir);
    const stats = await ygg(['stats'], dir);
    expect(stats.code).toBe(0);
    for (const line of stats.stdout.trim().split('\n')) expect(line.length).toBeLessThan(120);
    expect(stats.stdout).toMatch(/someone-z+…\s+1\s+0\s+1\s+0\n/);
    const json = parsed((await ygg(['stats', '--json'], dir)).stdout) as {
      submitters: Record<string, unknown>;
    };
    expect(Object.keys(json.submitters)).toEqual([who]);
  });

  it('refuses an unknown --log-level before opening anything, as a usage error', async () => {
    const dir = await testDir('log-level');
    const run = await ygg(['loop', '--log-level', 'loud'], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^ygg: option '--log-level <level>' argument 'loud' is invalid\. use one of fatal, error/,
    );
  });
});
