/**
 * A flood of half-sent requests on the status port of a real `ygg loop` with a low descriptor
 * limit: the status server sheds it, the loop goes on claiming and writing the store, the lock
 * is never left held, and /status answers again once the flood stops.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { collectOutput, runYgg, yggBin } from '../helpers/cli.js';
import { workspace } from '../helpers/running-loop.js';
import { waitForTasks } from '../helpers/store-file.js';
import { waitUntil } from '../helpers/wait.js';

const descriptorLimit = 128;

function statusOf(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/status', timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Keeps `count` connections open on the port, each having sent half a request, reopening any the server closes. */
function flood(port: number, count: number): { stop(): void; opened(): number } {
  let stopped = false;
  let opened = 0;
  const sockets = new Set<Socket>();
  const open = () => {
    if (stopped) return;
    const socket = connect({ host: '127.0.0.1', port });
    sockets.add(socket);
    opened += 1;
    socket.on('error', () => {});
    socket.on('connect', () => socket.write('GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '));
    socket.on('close', () => {
      sockets.delete(socket);
      // An attacker comes straight back; a short pause keeps this test from spinning a core.
      if (!stopped) setTimeout(open, 250);
    });
  };
  for (let i = 0; i < count; i++) open();
  const stop = () => {
    stopped = true;
    for (const socket of sockets) socket.destroy();
  };
  onTestFinished(stop);
  return { stop, opened: () => opened };
}

describe('ygg loop with its status port flooded', () => {
  it('sheds the flood, goes on running tasks, never leaves the store lock held, and answers /status again', async () => {
    const ws = await workspace('descriptor-flood');
    const child = spawn(
      'sh',
      [
        '-c',
        `ulimit -n ${descriptorLimit} && exec "$0" "$@"`,
        process.execPath,
        yggBin,
        'loop',
        '--status-port',
        '0',
      ],
      { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    const output = collectOutput(child);
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    onTestFinished(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    });
    const port = await waitUntil(
      () => {
        const printed = /status and web view at http:\/\/[^:]+:(\d+)/.exec(output.stderr());
        return printed ? Number(printed[1]) : undefined;
      },
      { what: 'the loop to print its status URL' },
    );

    const attack = flood(port, 200);
    await waitUntil(() => attack.opened() > 300, { what: 'the server to close connections past its limit' });
    // While the flood goes on, a task added from outside is claimed, run and written back.
    const during = await runYgg(['add', 'during the flood', '--', 'true'], { cwd: ws.dir });
    expect(during.code, during.stderr).toBe(0);
    const id = during.stdout.trim();
    await waitForTasks(ws.store, (tasks) => tasks.some((t) => t.id === id && t.status === 'closed'));
    attack.stop();

    await waitUntil(async () => (await statusOf(port)) === 200, { what: '/status to answer again' });
    // Held for a moment by each write; never left held.
    await waitUntil(() => !existsSync(join(ws.dir, '.ygg', 'issues.jsonl.lock')), {
      what: 'the store lock to be free',
      timeoutMs: 5_000,
    });
    const after = await runYgg(['add', 'after the flood', '--', 'true'], { cwd: ws.dir, timeoutMs: 20_000 });
    expect(after.code, after.stderr).toBe(0);
    const next = after.stdout.trim();
    await waitForTasks(ws.store, (tasks) => tasks.some((t) => t.id === next && t.status === 'closed'));
    expect(child.exitCode, output.stderr()).toBeNull();
    // Said at warn level, not silently.
    const warned = output
      .stdout()
      .split('\n')
      .filter((line) => line.includes('connections open, refusing more'))
      .map((line) => JSON.parse(line) as { level: number });
    expect(warned.length).toBeGreaterThan(0);
    expect(warned[0]!.level).toBe(40);
  });
});
