/**
 * `ygg add` with no loop on the store appends its task and ends; the check that no writer without
 * the lock (bd's read-modify-rename) dropped it goes to a detached guard process, which puts the
 * task back and says so in `.ygg/stale-writer-guard.log`.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runYgg } from '../helpers/cli.js';
import { readTasks, waitForTasks } from '../helpers/store-file.js';
import { queueDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const hostsYaml = `hosts:
  surtr:
    transport: local
    slots: 2
`;
const guardMain = join(repoRoot, 'dist', 'src', 'cli', 'stale-writer-guard-main.js');

const guardsLeft = async (dir: string) => readdir(join(dir, '.ygg', 'guards')).catch(() => []);

/** Runs the guard on adds written by hand, as `ygg add` hands them over; resolves on its exit. */
async function runGuard(
  dir: string,
  lines: string[],
  committedAt: number,
  settleMs: number,
): Promise<number | null> {
  const folder = join(dir, '.ygg', 'guards');
  await mkdir(folder, { recursive: true });
  const input = join(folder, 'by-hand.jsonl');
  const header = {
    path: join(dir, '.beads', 'issues.jsonl'),
    runtimeDir: join(dir, '.ygg'),
    committedAt,
    settleMs,
  };
  await writeFile(input, `${[JSON.stringify(header), ...lines].join('\n')}\n`);
  const child = spawn(process.execPath, [guardMain, input], { stdio: 'ignore' });
  return new Promise((resolve) => child.on('close', resolve));
}

describe('the stale-writer guard of ygg add', () => {
  it('ygg add with no loop writes the Beads file itself and leaves a guard that finishes quietly', async () => {
    const dir = await queueDir('guard-quiet', hostsYaml);
    const store = join(dir, '.beads', 'issues.jsonl');
    const added = await runYgg(['add', 'alone', '--', 'true'], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    const id = added.stdout.trim();
    expect(await readFile(store, 'utf8')).toContain(id);
    await waitUntil(async () => (await guardsLeft(dir)).length === 0, { timeoutMs: 30_000 });
    expect((await readTasks(store)).map((t) => t.id)).toEqual([id]);
    // Nothing to report: no log.
    await expect(readFile(join(dir, '.ygg', 'stale-writer-guard.log'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('puts back an add that bd dropped by renaming an older copy over the file, within the window', {
    timeout: 60_000,
  }, async () => {
    const dir = await queueDir('guard-repair', hostsYaml);
    const store = join(dir, '.beads', 'issues.jsonl');
    const first = await runYgg(['add', 'first', '--', 'true'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const stale = await readFile(store);
    const second = await runYgg(['add', 'second', '--', 'true'], { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    const line = (await readFile(store, 'utf8')).split('\n').find((l) => l.includes(second.stdout.trim()));
    expect(line).toBeDefined();
    await waitUntil(async () => (await guardsLeft(dir)).length === 0, { timeoutMs: 30_000 });

    // bd read before the add and renames its copy now: a guard watching a generous window sees it.
    const guard = runGuard(dir, [line as string], Date.now(), 3_000);
    await writeFile(`${store}.bd.tmp`, stale);
    await rename(`${store}.bd.tmp`, store);
    expect(await guard).toBe(0);
    const tasks = await waitForTasks(store, (ts) => ts.length === 2, 10_000);
    expect(tasks.map((t) => t.title)).toEqual(['first', 'second']);
    // Put back as written, byte for byte.
    expect((await readFile(store, 'utf8')).split('\n')).toContain(line);
    expect(await readFile(join(dir, '.ygg', 'stale-writer-guard.log'), 'utf8')).toMatch(
      /put back 1 of 1 added line\(s\) a writer without the lock dropped/,
    );
    expect(await guardsLeft(dir)).toEqual([]);
  });

  it('a store removed before the guard looks (a temporary folder) is left alone, nothing written there', async () => {
    const dir = await queueDir('guard-gone', hostsYaml);
    const store = join(dir, '.beads', 'issues.jsonl');
    await rename(store, `${store}.gone`);
    expect(await runGuard(dir, ['{"id":"x-1","title":"t"}'], Date.now(), 50)).toBe(0);
    expect(await readdir(join(dir, '.ygg'))).toEqual(['guards']);
    expect(await guardsLeft(dir)).toEqual([]);
  });
});
