import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

async function workspace(name: string): Promise<{ dir: string; store: string }> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  const store = join(dir, '.beads', 'issues.jsonl');
  await writeFile(store, '');
  return { dir, store };
}

describe('ygg add with a command', () => {
  it('runs a command given after -- with the shell handler, keeping every word', async () => {
    const { dir, store } = await workspace('add-argv');
    const added = await runYgg(['add', 'say hi', '--', 'echo', 'hi', '$(id)'], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    const [line] = (await readFile(store, 'utf8')).trim().split('\n');
    const task = JSON.parse(line as string) as { id: string; title: string; metadata: unknown };
    expect(task.id).toBe(added.stdout.trim());
    expect(task.title).toBe('say hi');
    expect(task.metadata).toEqual({ ygg: { handler: 'shell', argv: ['echo', 'hi', '$(id)'] } });
  });

  it('refuses, writing nothing, a title taken from the command, a shell task without one, and an unknown handler', async () => {
    const { dir, store } = await workspace('add-argv-bad');
    const noTitle = await runYgg(['add', '--handler', 'shell', '--', 'echo', 'hi'], { cwd: dir });
    expect(noTitle.code).toBe(2);
    expect(noTitle.stderr).toMatch(/the title goes before --/);
    const noCommand = await runYgg(['add', 'nothing to run', '--handler', 'shell'], { cwd: dir });
    expect(noCommand.code).toBe(2);
    expect(noCommand.stderr).toMatch(/the shell handler needs the command to run after --/);
    const unknown = await runYgg(['add', 'typo', '--handler', 'shel'], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no handler plugin named shel\n.*Known: .*shell, simulate/);
    expect(await readFile(store, 'utf8')).toBe('');
  });
});

describe('ygg add --type', () => {
  it('files a task under a type hosts.yaml declares, in list and show alike', async () => {
    const { dir } = await workspace('add-type');
    await writeFile(
      join(dir, 'hosts.yaml'),
      'hosts:\n  skadi: {transport: local}\ntypes:\n  grader: {hosts: [skadi], max_concurrent: 1}\n',
    );
    const id = (await runYgg(['add', 'analyze run 4', '--type', 'grader'], { cwd: dir })).stdout.trim();
    const listed = JSON.parse((await runYgg(['list', '--json'], { cwd: dir })).stdout) as Array<{
      type: string;
    }>;
    expect(listed.map((t) => t.type)).toEqual(['grader']);
    expect((await runYgg(['show', id], { cwd: dir })).stdout).toMatch(/type: grader/);
  });
});

describe('ygg loop durations', () => {
  it('reads --interval and --grace with units, and refuses what is not a duration', async () => {
    const { dir } = await workspace('loop-durations');
    const bad = await runYgg(['loop', '--until-idle', '--grace', 'soon'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--grace <duration>' argument 'soon' is invalid\. use a duration such as/);
    const ok = await runYgg(['loop', '--until-idle', '--interval', '2s', '--grace', '30s', '--no-status'], {
      cwd: dir,
    });
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe('one duration rule', () => {
  it('reads a bare number as seconds, except under a name ending in -ms, and --help says so', async () => {
    const { dir, store } = await workspace('add-bare-seconds');
    const added = await runYgg(['add', 'slow', '--timeout', '30', '--hard-timeout', '1.5m'], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    const simulated = await runYgg(['add', 'pretend', '--simulate-ms', '30'], { cwd: dir });
    expect(simulated.code, simulated.stderr).toBe(0);
    const [slow, pretend] = (await readFile(store, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { metadata: unknown });
    // Stored as milliseconds under names ending _ms, as tasks queued before this rule were.
    expect(slow?.metadata).toEqual({ ygg: { timeout_ms: 30_000, hard_timeout_ms: 90_000 } });
    expect(pretend?.metadata).toEqual({ ygg: { handler: 'simulate', simulate_ms: 30 } });
    const help = await runYgg(['--help'], { cwd: dir });
    expect(help.stdout).toMatch(/a bare number is seconds, as in hosts\.yaml/);
    const loopHelp = await runYgg(['loop', '--help'], { cwd: dir });
    expect(loopHelp.stdout.replace(/\s+/g, ' ')).toMatch(/--interval <duration>.*a bare number is seconds/);
  });
});
