import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runYgg } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

/** Every hosts*.yaml under examples/, so a new example is checked without editing this test. */
async function exampleConfigs(): Promise<string[]> {
  const entries = await readdir(join(repoRoot, 'examples'), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /^hosts.*\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

describe('ygg config check', () => {
  it('passes the shipped hosts.yaml, found as the default outside any project', async () => {
    const cwd = await testDir('check-shipped');
    const result = await runYgg(['config', 'check'], { cwd, env: { YGG_CONFIG: '' } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^OK .*hosts\.yaml \(the shipped default\): 3 hosts \(7 slots\)/);
  });

  it('passes every example file', async () => {
    const files = await exampleConfigs();
    expect(files.map((f) => relative(repoRoot, f))).toEqual(
      expect.arrayContaining(['examples/hosts.spill.yaml', 'examples/hosts.ssh.yaml']),
    );
    for (const file of files) {
      const result = await runYgg(['config', 'check', '--config', file], { cwd: repoRoot });
      expect(result.code, `${file}\n${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(/^OK /);
      // Warnings are allowed (an example's key files do not exist here), errors are not.
      expect(result.stderr).not.toMatch(/^(?!.*\(warning\)$).+$/m);
    }
  });

  it('prints each problem with file, line and key path, and exits 1', async () => {
    const cwd = await testDir('check-broken');
    await mkdir(join(cwd, '.beads'));
    await writeFile(
      join(cwd, 'hosts.yaml'),
      'hosts:\n  surtr:\n    slots: 0\n    colour: red\ntypes:\n  general:\n    hosts: [fenrir]\n',
    );
    await mkdir(join(cwd, 'sub'));
    const result = await runYgg(['config', 'check'], { cwd: join(cwd, 'sub'), env: { YGG_CONFIG: '' } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    // Schema errors come first; rule checks run once the schema passes.
    expect(result.stderr).toContain(`${join(cwd, 'hosts.yaml')}:4: hosts.surtr.colour: unknown key "colour"`);

    await writeFile(
      join(cwd, 'hosts.yaml'),
      'hosts:\n  surtr:\n    slots: 0\ntypes:\n  general:\n    hosts: [fenrir]\n',
    );
    const again = await runYgg(['config', 'check'], { cwd, env: { YGG_CONFIG: '' } });
    expect(again.code).toBe(1);
    expect(again.stderr.split('\n')).toEqual([
      'hosts.yaml:3: hosts.surtr.slots: a host with 0 slots can never run a task; give it slots or remove it',
      'hosts.yaml:6: types.general.hosts[0]: unknown host "fenrir"',
      'hosts.yaml: 2 errors',
      '',
    ]);
  });

  it('checks the plugins as the loop loads them: two claiming a type, a handler none provides', async () => {
    const cwd = await testDir('check-plugins');
    await mkdir(join(cwd, 'mine'));
    const plugin = (name: string) =>
      `export const plugin = { name: '${name}', types: ['general'], async run() { return 'ok'; } };\n`;
    await writeFile(join(cwd, 'mine', 'one.mjs'), plugin('one'));
    await writeFile(join(cwd, 'mine', 'two.mjs'), plugin('two'));
    await writeFile(
      join(cwd, 'hosts.yaml'),
      'hosts:\n  a: {transport: local}\nplugins: {dirs: [mine]}\ntypes:\n  code: {hosts: [a], handler: nosuch}\n',
    );
    const result = await runYgg(['config', 'check', '--config', 'hosts.yaml'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/plugins: .*general/);
    expect(result.stderr).toMatch(/types\.code\.handler: no plugin named nosuch \(loaded: .*simulate/);
  });

  it('reads the file named by YGG_CONFIG and says so', async () => {
    const cwd = await testDir('check-env');
    await writeFile(join(cwd, 'mine.yaml'), 'hosts:\n  only: {slots: 4}\n');
    const result = await runYgg(['config', 'check'], { cwd, env: { YGG_CONFIG: 'mine.yaml' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^OK mine\.yaml \(named by YGG_CONFIG\): 1 host \(4 slots\)/);
  });
});

describe('ygg config schema', () => {
  it('prints a JSON schema of hosts.yaml with the documented defaults', async () => {
    const cwd = await testDir('schema');
    const result = await runYgg(['config', 'schema'], { cwd });
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout) as {
      $schema: string;
      additionalProperties: boolean;
      properties: Record<
        string,
        { additionalProperties?: { properties: Record<string, { description?: string }> } }
      >;
    };
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['hosts', 'types', 'type_rules', 'issue_types', 'queue', 'defaults', 'learner']),
    );
    const host = schema.properties.hosts?.additionalProperties?.properties;
    expect(host?.slots?.description).toMatch(/Default: 1/);
    expect(host?.transport?.description).toMatch(/Default: local/);
  });
});
