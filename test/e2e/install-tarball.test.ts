/**
 * ygg installed as a user would: the packed tarball into a fresh global prefix with the README's
 * install line (onnxruntime-node told not to download anything), then a first queue in an empty
 * folder through the installed `ygg` on the PATH.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

const run = promisify(execFile);

describe('installed from the packed tarball', () => {
  it('puts ygg on the PATH, and init, add, loop --until-idle and list work in an empty folder', async () => {
    const packs = await testDir('install-pack');
    const prefix = await testDir('install-prefix');
    const work = await testDir('install-empty');
    // Every other CLI test runs the built dist/: packing must not rebuild it under them (the test
    // command builds it first; alone, this builds it once).
    if (!existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js')))
      await run('npm', ['run', 'build', '--silent'], { cwd: repoRoot, timeout: 240_000 });
    await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', packs], {
      cwd: repoRoot,
      timeout: 240_000,
    });
    const [tarball] = (await readdir(packs)).filter((f) => f.endsWith('.tgz'));
    expect(tarball).toMatch(/^ygg-dispatch-ygg-.*\.tgz$/);
    await run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--no-audit',
        '--no-fund',
        '--onnxruntime-node-install=skip',
        join(packs, tarball as string),
      ],
      { cwd: work, timeout: 300_000 },
    );
    const env = {
      ...process.env,
      PATH: `${join(prefix, 'bin')}:${process.env.PATH}`,
      YGG_STORE: '',
      YGG_CONFIG: '',
    };
    const ygg = (args: string[]) => run('ygg', args, { cwd: work, env, timeout: 120_000 });
    expect((await ygg(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    await ygg(['init']);
    const added = (await ygg(['add', 'say hello', '--', 'echo', 'hello'])).stdout.trim().split('\n')[0];
    await ygg(['loop', '--until-idle', '--no-status']);
    const listed = JSON.parse((await ygg(['list', '--json'])).stdout) as Array<{
      id: string;
      status: string;
    }>;
    expect(listed.find((t) => t.id === added)?.status).toBe('closed');
    // The ONNX features work from the installed package (its CPU build ships inside it).
    const onnx = await run(process.execPath, ['-e', "require('onnxruntime-node'); console.log('onnx ok')"], {
      cwd: join(prefix, 'lib', 'node_modules', '@ygg-dispatch', 'ygg'),
      timeout: 60_000,
    });
    expect(onnx.stdout).toContain('onnx ok');
  }, 600_000);
});
