import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/registry.js';
import { repoRoot, runYgg, yggBin } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

/** Runs the real CLI with a loader hook that records every module it resolves; returns them. */
async function modulesLoadedBy(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; urls: string[] }> {
  const trace = join(cwd, `modules-${args[0]?.replace(/\W/g, '')}.txt`);
  await writeFile(trace, '');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', join(repoRoot, 'test', 'helpers', 'module-trace.mjs'), yggBin, ...args],
      { cwd, env: { ...process.env, YGG_TEST_MODULE_TRACE: trace }, stdio: 'ignore' },
    );
    child.on('error', reject);
    child.on('close', resolve);
  });
  return { code, urls: (await readFile(trace, 'utf8')).split('\n').filter((url) => url !== '') };
}

/** The npm packages among module URLs (`.../node_modules/NAME/...`, scopes included). */
function packagesIn(urls: readonly string[]): string[] {
  const names = urls.flatMap((url) => {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    return match?.[1] ? [match[1]] : [];
  });
  return [...new Set(names)].sort();
}

describe('CLI start-up loads what the command needs', () => {
  it('ygg --version loads no package at all (not even commander) and prints the version', async () => {
    const dir = await testDir('startup-version');
    const { code, urls } = await modulesLoadedBy(['--version'], dir);
    expect(code).toBe(0);
    // The trace works: it saw the CLI's own entry.
    expect(urls.some((url) => url.endsWith('/dist/src/cli/main.js'))).toBe(true);
    expect(packagesIn(urls)).toEqual([]);
    const printed = await runYgg(['--version'], { cwd: dir });
    expect(printed.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('ygg add loads the store and hosts.yaml parsing, but not SSH, logging, metrics or models', async () => {
    const dir = await testDir('startup-add');
    await mkdir(join(dir, '.beads'));
    await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
    const { code, urls } = await modulesLoadedBy(['add', 'a task'], dir);
    expect(code).toBe(0);
    const loaded = packagesIn(urls);
    expect(loaded).toContain('proper-lockfile');
    for (const name of ['ssh2', 'pino', 'pino-pretty', 'prom-client', 'onnxruntime-node', 'lowdb'])
      expect(loaded).not.toContain(name);
    // No other command's module comes along.
    const cliModules = urls
      .filter((url) => /\/dist\/src\/cli\/[^/]+\.js$/.test(url))
      .map((u) => u.split('/').pop());
    expect(new Set(cliModules)).toEqual(
      new Set([
        'main.js',
        'registry.js',
        'add.js',
        'add-task.js',
        'add-commit.js',
        'add-config.js',
        'add-model-check.js',
        'store-options.js',
        'store-help.js',
        'hand-off.js',
        'stale-writer-guard.js',
      ]),
    );
  });

  it('ygg add checks hosts.yaml once and remembers it until the file changes', async () => {
    const dir = await testDir('startup-add-config');
    await mkdir(join(dir, '.beads'));
    await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
    const hostsYaml = join(dir, 'hosts.yaml');
    await writeFile(hostsYaml, 'hosts:\n  surtr: { transport: local }\nqueue:\n  max_size: 10\n');
    const first = await modulesLoadedBy(['add', 'first'], dir);
    expect(first.code).toBe(0);
    expect(packagesIn(first.urls)).toEqual(expect.arrayContaining(['yaml', 'zod']));
    const second = await modulesLoadedBy(['add', 'second'], dir);
    expect(second.code).toBe(0);
    expect(packagesIn(second.urls)).not.toContain('yaml');
    expect(packagesIn(second.urls)).not.toContain('zod');
    // A file of titles needs no schema either: zod stays out of a bulk add of titles.
    await writeFile(join(dir, 'titles.txt'), 'one\ntwo\n');
    const titles = await modulesLoadedBy(['add', '--from', 'titles.txt'], dir);
    expect(titles.code).toBe(0);
    expect(packagesIn(titles.urls)).not.toContain('zod');
    // A changed file is read again: its new limit holds at once.
    await writeFile(hostsYaml, 'hosts:\n  surtr: { transport: local }\nqueue:\n  max_size: 4\n');
    const refused = await runYgg(['add', 'third'], { cwd: dir });
    expect(refused.code).toBe(75);
    expect(refused.stderr).toMatch(/queue.max_size is 4/);
    // A broken one is reported, never replaced by the copy remembered from before.
    await writeFile(hostsYaml, 'hosts:\n  surtr: { transport: local }\nqueue:\n  max_size: -1\n');
    const broken = await runYgg(['add', 'fourth'], { cwd: dir });
    expect(broken.code).toBe(0);
    expect(broken.stderr).toMatch(/hosts.yaml could not be read, so queue limits were not checked/);
  });

  it('ygg --help still lists every command, and ygg hosts --help its drain subcommand', async () => {
    const dir = await testDir('startup-help');
    const help = await runYgg(['--help'], { cwd: dir });
    expect(help.code).toBe(0);
    for (const name of commands.flatMap((module) => module.names))
      expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    const hosts = await runYgg(['hosts', '--help'], { cwd: dir });
    expect(hosts.stdout).toMatch(/^ {2}drain \[options\] <name>/m);
    const typo = await runYgg(['ad', 'x'], { cwd: dir });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown command 'ad'\n\(Did you mean add\?\)/);
  });
});
