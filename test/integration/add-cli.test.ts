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
    expect(noTitle.code).toBe(1);
    expect(noTitle.stderr).toMatch(/the title goes before --/);
    const noCommand = await runYgg(['add', 'nothing to run', '--handler', 'shell'], { cwd: dir });
    expect(noCommand.code).toBe(1);
    expect(noCommand.stderr).toMatch(/the shell handler needs the command to run after --/);
    const unknown = await runYgg(['add', 'typo', '--handler', 'shel'], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no handler plugin named shel\n.*Known: .*shell, simulate/);
    expect(await readFile(store, 'utf8')).toBe('');
  });
});
