/**
 * The store lock is released on every path, also when the process has no file descriptor left,
 * and a lock its own process holds too long is told, with what holds it.
 */
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { logStoreLocks } from '../../src/app/observers.js';
import { createLogger } from '../../src/observe/logger.js';
import { StoreLock, type StoreLockNotice } from '../../src/store/beads-jsonl/store-lock.js';
import { collectOutput } from '../helpers/cli.js';
import { readTasks } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const worker = new URL('./workers/emfile-writer.mjs', import.meta.url).pathname;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // A low descriptor limit, so that using them all up is quick.
    const child = spawn('sh', ['-c', 'ulimit -n 128 && exec "$0" "$@"', process.execPath, worker, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collectOutput(child);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: output.stdout(), stderr: output.stderr() }));
  });
}

describe('the store lock under faults', () => {
  it('is released when a write fails for want of file descriptors (EMFILE), and the next write goes through', async () => {
    const dir = await testDir('lock-emfile');
    await mkdir(join(dir, '.beads'));
    const store = join(dir, '.beads', 'issues.jsonl');
    await writeFile(store, '');
    const lockPath = join(dir, '.ygg', 'issues.jsonl.lock');
    const result = await run([store, lockPath]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(report.starved).toMatch(/^failed: .*(EMFILE|too many open files)/i);
    expect(report.lockLeftAfterFailure).toBe(false);
    expect(report.afterwards).toMatch(/^added /);
    expect(report.lockLeftAtEnd).toBe(false);
    const titles = (await readTasks(store)).map((t) => t.title);
    expect(titles).toEqual(['with descriptors again']);
  });

  it('tells when its own process holds it too long, with what holds it, and when it lets go', async () => {
    const dir = await testDir('lock-held-long');
    const file = join(dir, 'issues.jsonl');
    await writeFile(file, '');
    const notices: StoreLockNotice[] = [];
    const listener = (message: unknown) => notices.push(message as StoreLockNotice);
    subscribe('ygg:store-lock', listener);
    onTestFinished(() => {
      unsubscribe('ygg:store-lock', listener);
    });
    const lock = new StoreLock(file, join(dir, 'issues.jsonl.lock'), { heldTooLongMs: 200 });
    const release = await lock.acquire('a test that forgets to let go');
    const told = await waitUntil(() => notices.find((n) => n.kind === 'held-too-long'), {
      what: 'the lock held too long to be told',
    });
    expect(told).toMatchObject({
      file,
      holder: { pid: process.pid, purpose: 'a test that forgets to let go' },
    });
    expect(told.heldMs).toBeGreaterThanOrEqual(200);
    await release();
    await release(); // twice is harmless
    expect(notices.map((n) => n.kind)).toEqual(['held-too-long', 'released-late']);
    expect(existsSync(join(dir, 'issues.jsonl.lock'))).toBe(false);
    // A lock let go in time says nothing.
    const quick = await lock.acquire();
    await quick();
    expect(notices).toHaveLength(2);
  });

  it('is logged by the loop at error, naming the holder, when its own process holds it too long', async () => {
    const dir = await testDir('lock-logged');
    const file = join(dir, 'issues.jsonl');
    await writeFile(file, '');
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const stop = logStoreLocks(createLogger({ destination, pretty: false }));
    onTestFinished(stop);
    const lock = new StoreLock(file, join(dir, 'issues.jsonl.lock'), { heldTooLongMs: 100 });
    const release = await lock.acquire();
    const logged = await waitUntil(() => lines.find((l) => l.level === 50), { what: 'an error line' });
    expect(logged.msg).toMatch(
      new RegExp(
        `store lock .*issues\\.jsonl\\.lock held [0-9.]+ s by this process \\(pid ${process.pid}\\) for a write of issues\\.jsonl`,
      ),
    );
    expect(logged).toMatchObject({ holder_pid: process.pid, holder: 'a write of issues.jsonl' });
    await release();
    expect(lines.at(-1)).toMatchObject({ level: 40, msg: expect.stringMatching(/released after/) });
  });
});
