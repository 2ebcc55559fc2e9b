import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { collectOutput, runYgg, yggBin } from '../helpers/cli.js';
import { queueDir } from '../helpers/tmp.js';

const workspace = (name: string): Promise<string> =>
  queueDir(name, 'hosts:\n  surtr: { transport: local, slots: 2 }\n');

/** Runs ygg with its stdout closed after the first chunk, as `ygg ... | head -1` does. */
function runIntoClosedPipe(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [yggBin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collectOutput(child);
    child.stdout.once('data', () => child.stdout.destroy());
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr: output.stderr() }));
  });
}

describe('CLI conventions', () => {
  it('ends quietly when the reader of its output goes away (ygg list | head)', async () => {
    const dir = await workspace('epipe');
    // Far more than a pipe holds, so the write is still going when the reader leaves.
    expect((await runYgg(['create', '3000'], { cwd: dir })).code).toBe(0);
    for (const args of [['list'], ['list', '--json']]) {
      const run = await runIntoClosedPipe(args, dir);
      expect(run.stderr, args.join(' ')).toBe('');
      expect(run.code, args.join(' ')).toBe(0);
    }
  });

  it('answers a usage error with one ygg: line, a pointer to --help, and exit 2', async () => {
    const dir = await workspace('usage');
    const bad = await runYgg(['add', 'x', '--priority', '9'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ygg: option '--priority <n>' argument '9' is invalid\. use 0 \(critical\)/);
    expect(bad.stderr).toMatch(/see `ygg add --help`\n$/);
    expect(bad.stderr).not.toMatch(/Usage:|Options:/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(2);
    const unknown = await runYgg(['list', '--bogus'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("ygg: unknown option '--bogus'\n  see `ygg list --help`\n");
  });

  it('says the same about an unknown id, whichever command was given it', async () => {
    const dir = await workspace('unknown-id');
    const hints = new Set<string>();
    for (const args of [
      ['show', 'ygg-nope'],
      ['logs', 'ygg-nope'],
      ['cancel', 'ygg-nope'],
      ['retry', 'ygg-nope'],
      ['position', 'ygg-nope'],
      ['run', 'ygg-nope'],
    ]) {
      const run = await runYgg(args, { cwd: dir });
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr, args.join(' ')).toMatch(/^ygg: no task ygg-nope in .*issues\.jsonl\n/);
      hints.add(run.stderr.split('\n')[1] ?? '');
    }
    expect([...hints]).toEqual(['  `ygg list` shows the task ids.']);
  });
});
