import { mkdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findConfigPath, shippedConfigPath } from '../../src/config/discover.js';
import { repoRoot } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

/** A project with `.beads/` and its own hosts.yaml, a nested working folder, and a file named elsewhere. */
async function project(name: string) {
  const root = await realpath(await testDir(name));
  await mkdir(join(root, '.beads'));
  await writeFile(join(root, '.beads', 'issues.jsonl'), '');
  await writeFile(join(root, 'hosts.yaml'), 'hosts:\n  beside: {}\n');
  const nested = join(root, 'src', 'deep');
  await mkdir(nested, { recursive: true });
  await writeFile(join(root, 'flag.yaml'), 'hosts:\n  flag: {}\n');
  await writeFile(join(root, 'env.yaml'), 'hosts:\n  env: {}\n');
  return { root, nested };
}

describe('findConfigPath', () => {
  it('prefers --config, then YGG_CONFIG, then hosts.yaml beside .beads/, then the shipped file', async () => {
    const { root, nested } = await project('discovery-order');
    const env = { YGG_CONFIG: join(root, 'env.yaml') };

    expect(findConfigPath({ cwd: nested, env, configPath: '../../flag.yaml' })).toEqual({
      path: join(root, 'flag.yaml'),
      source: 'flag',
    });
    expect(findConfigPath({ cwd: nested, env })).toEqual({ path: join(root, 'env.yaml'), source: 'env' });
    expect(findConfigPath({ cwd: nested, env: {} })).toEqual({
      path: join(root, 'hosts.yaml'),
      source: 'beads',
    });

    const bare = await realpath(await testDir('discovery-bare'));
    expect(findConfigPath({ cwd: bare, env: {} })).toEqual({ path: shippedConfigPath(), source: 'default' });
  });

  it('uses the shipped file when the nearest .beads/ has no hosts.yaml beside it', async () => {
    const { root } = await project('discovery-no-hosts');
    const inner = join(root, 'inner');
    await mkdir(join(inner, '.beads'), { recursive: true });
    expect(findConfigPath({ cwd: inner, env: {} })).toEqual({ path: shippedConfigPath(), source: 'default' });
  });

  it('with no .beads/ above (a PostgreSQL store), takes hosts.yaml from the current folder', async () => {
    const bare = await realpath(await testDir('discovery-database'));
    await writeFile(join(bare, 'hosts.yaml'), 'hosts: {}\n');
    expect(findConfigPath({ cwd: bare, env: {} })).toEqual({ path: join(bare, 'hosts.yaml'), source: 'cwd' });
  });

  it('refuses a named file that does not exist', async () => {
    const { root } = await project('discovery-missing');
    expect(() => findConfigPath({ cwd: root, env: {}, configPath: 'nope.yaml' })).toThrow(
      /--config names .*nope\.yaml/,
    );
    expect(() => findConfigPath({ cwd: root, env: { YGG_CONFIG: 'gone.yaml' } })).toThrow(
      /YGG_CONFIG names .*gone\.yaml/,
    );
  });

  it('ships hosts.yaml at the package root', () => {
    expect(shippedConfigPath()).toBe(join(repoRoot, 'hosts.yaml'));
  });
});
