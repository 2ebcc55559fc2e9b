import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { childrenOf, handleCounts, leaks, useLeakCheck } from '../helpers/leaks.js';
import { waitUntil } from '../helpers/wait.js';

describe('leak check', () => {
  useLeakCheck();

  it('sees a child process and its handles while they run, and nothing once they are gone', async () => {
    const children = new Set(childrenOf(process.pid).map((c) => c.pid));
    const handles = handleCounts();
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const found = leaks(children, handles);
    expect(found).toContainEqual(expect.stringMatching(new RegExp(`child process ${child.pid}: sleep 30`)));
    expect(found).toContainEqual(expect.stringMatching(/ProcessWrap/));
    child.kill();
    await exited;
    // Handles close on a later turn of the event loop than the exit or close callback.
    await waitUntil(() => leaks(children, handles).length === 0, { what: 'no leaks left' });
  });

  it('sees a server left listening and a ref’d interval, not unref’d timers', async () => {
    const children = new Set(childrenOf(process.pid).map((c) => c.pid));
    const handles = handleCounts();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const interval = setInterval(() => {}, 1000);
    const quiet = setInterval(() => {}, 1000).unref();
    const found = leaks(children, handles);
    expect(found).toContainEqual(expect.stringMatching(/TCPServerWrap/));
    expect(found).toContainEqual(expect.stringMatching(/1 more Timeout handle/));
    clearInterval(interval);
    clearInterval(quiet);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // Handles close on a later turn of the event loop than the exit or close callback.
    await waitUntil(() => leaks(children, handles).length === 0, { what: 'no leaks left' });
  });

  it('passes a test that cleans up after itself (vitest’s own handles are not flagged)', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 100)'], { stdio: 'pipe' });
    await new Promise((resolve) => child.on('close', resolve));
  });
});

describe('a test that leaves a child process running', () => {
  const left: ChildProcess[] = [];
  afterAll(() => {
    for (const child of left) child.kill();
  });
  useLeakCheck({ settleMs: 200 });

  it.fails('fails once its own cleanup ran', () => {
    left.push(spawn('sleep', ['30'], { stdio: 'ignore' }));
  });
});
