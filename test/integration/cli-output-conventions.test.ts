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
import { testDir } from '../helpers/tmp.js';

async function workspace(name: string): Promise<string> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
  await writeFile(join(dir, 'hosts.yaml'), 'hosts:\n  surtr: { transport: local, slots: 2 }\n');
  return dir;
}

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
