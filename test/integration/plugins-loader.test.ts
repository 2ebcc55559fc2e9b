import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinPluginDir, loadPlugins } from '../../src/plugins/loader.js';
import { runYgg } from '../helpers/cli.js';
import { readTasks } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';

describe('plugin loading', () => {
  it('loads the built-ins', async () => {
    const set = await loadPlugins([builtinPluginDir()]);
    expect(set.problems).toEqual([]);
    expect([...set.byName.keys()]).toEqual(expect.arrayContaining(['simulate', 'shell']));
  });

  it('reports a plugin that fails to load with its path and error, and loads the others', async () => {
    const dir = await testDir('plugin-failure');
    await writeFile(
      join(dir, 'good.mjs'),
      "export const plugin = { name: 'good', types: ['vision'], run: async () => 'seen' };\n",
    );
    await writeFile(join(dir, 'broken.mjs'), 'export const plugin = {;\n');
    await writeFile(join(dir, 'nameless.mjs'), "export const plugin = { types: ['x'], run() {} };\n");
    const set = await loadPlugins([dir]);
    expect([...set.byName.keys()]).toEqual(['good']);
    expect(set.problems.map((p) => p.path).sort()).toEqual([
      join(dir, 'broken.mjs'),
      join(dir, 'nameless.mjs'),
    ]);
    expect(set.problems.find((p) => p.path.endsWith('nameless.mjs'))?.error).toMatch(
      /plugin.name must be a non-empty string/,
    );
  });

  it('reports two plugins claiming one type as a conflict', async () => {
    const dir = await testDir('plugin-conflict');
    await writeFile(
      join(dir, 'a.mjs'),
      "export const plugin = { name: 'a', types: ['vision'], run: async () => '' };\n",
    );
    await writeFile(
      join(dir, 'b.mjs'),
      "export const plugin = { name: 'b', types: ['vision'], run: async () => '' };\n",
    );
    const set = await loadPlugins([dir]);
    expect(set.conflicts).toEqual(['type "vision" is claimed by both plugin "a" and plugin "b"']);
  });

  it('runs a user TypeScript plugin named in hosts.yaml through the real loop, without a build step', async () => {
    const dir = await testDir('ts-plugin');
    await mkdir(join(dir, '.beads'));
    await mkdir(join(dir, 'my-plugins'));
    await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
    await writeFile(
      join(dir, 'my-plugins', 'shout.ts'),
      `interface Task { title: string }
export const plugin = {
  name: 'shout',
  types: ['shouting'],
  async run(task: Task, ctx: { log: { info(obj: object, msg: string): void } }): Promise<string> {
    const loud: string = task.title.toUpperCase();
    ctx.log.info({ loud }, 'shouting now');
    return loud;
  },
};
`,
    );
    await writeFile(join(dir, 'my-plugins', 'broken.ts'), 'export const plugin = ;\n');
    await writeFile(
      join(dir, 'hosts.yaml'),
      'hosts:\n  surtr: { transport: local, slots: 1 }\nplugins:\n  dirs: [my-plugins]\ntype_rules:\n  - { type: shouting, labels: [shout] }\n',
    );
    const added = await runYgg(['add', 'make it loud', '--label', 'shout'], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    const run = await runYgg(['loop', '--until-idle', '--no-status', '--log-level', 'info'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/plugin .*broken\.ts failed to load/);
    // The handler's own log line is in the loop's log, beside its events.
    const said = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; loud?: string })
      .find((line) => line.msg === 'shouting now');
    expect(said?.loud).toBe('MAKE IT LOUD');
    const [task] = await readTasks(join(dir, '.beads', 'issues.jsonl'));
    expect(task?.status).toBe('closed');
    expect(task?.comments?.[0]?.text).toContain('MAKE IT LOUD');
  });
});
