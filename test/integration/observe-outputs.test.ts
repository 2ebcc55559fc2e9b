import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/observe/events.js';
import { logEvents } from '../../src/observe/log-events.js';
import { createLogger } from '../../src/observe/logger.js';
import { notifySettingsFrom, startNotifier } from '../../src/observe/notify.js';
import { runYgg } from '../helpers/cli.js';
import { workspace } from '../helpers/running-loop.js';
import { testDir } from '../helpers/tmp.js';

function capture(): { stream: PassThrough; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  let text = '';
  stream.setEncoding('utf8').on('data', (d: string) => {
    text += d;
  });
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('structured logs', () => {
  it('writes one JSON object per event with task_id, host, attempt and type', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', destination: out.stream });
    const bus = new EventBus();
    logEvents(bus, logger);
    bus.emit('task:started', {
      taskId: 'bd-1',
      type: 'summarize',
      host: 'surtr',
      attempt: 2,
      handler: 'simulate',
    });
    bus.emit('task:progress', { taskId: 'bd-1', host: 'surtr', attempt: 2, text: 'below info: not logged' });
    bus.emit('task:dead', { taskId: 'bd-1', type: 'summarize', attempts: 3, error: 'boom' });
    const lines = out.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 30,
      event: 'task:started',
      task_id: 'bd-1',
      host: 'surtr',
      attempt: 2,
      type: 'summarize',
    });
    expect(lines[1]).toMatchObject({ level: 50, event: 'task:dead', task_id: 'bd-1', err_msg: 'boom' });
  });

  it('never writes secrets', () => {
    const out = capture();
    const logger = createLogger({ destination: out.stream });
    logger.info(
      {
        apiKey: 'sk-123',
        model: { api_key: 'sk-456', url: 'http://x' },
        headers: { authorization: 'Bearer t' },
      },
      'calling',
    );
    const text = JSON.stringify(out.lines());
    expect(text).not.toMatch(/sk-123|sk-456|Bearer t/);
    expect(out.lines()[0]).toMatchObject({ model: { url: 'http://x' } });
  });
});

describe('notifications', () => {
  it('runs the command with the event JSON on stdin and posts it to the webhook', async () => {
    const dir = await testDir('notify');
    const received: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d;
      });
      req.on('end', () => {
        received.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const out = join(dir, 'events.txt');
    const script = `let s='';process.stdin.on('data',d=>s+=d).on('end',()=>require('fs').appendFileSync(${JSON.stringify(out)}, process.env.YGG_EVENT+' '+s+'\\n'))`;
    const settings = notifySettingsFrom({
      notify: {
        command: [process.execPath, '-e', script],
        webhook: `http://127.0.0.1:${port}/hook`,
        on: ['dead', 'host-down'],
      },
    });
    expect(settings?.on).toEqual(['task:dead', 'host:down']);
    const bus = new EventBus();
    const notifier = startNotifier({ bus, settings: settings! });
    bus.emit('task:dead', { taskId: 'bd-9', type: 'general', attempts: 3, error: 'boom' });
    bus.emit('host:up', { host: 'surtr' }); // not asked for
    bus.emit('host:down', { host: 'fenrir', error: 'probe failed' });
    await notifier.settled();
    await notifier[Symbol.asyncDispose]();
    server.close();
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['task:dead', 'host:down']);
    expect(JSON.parse(lines[0]!.slice('task:dead '.length))).toMatchObject({
      event: 'task:dead',
      taskId: 'bd-9',
      error: 'boom',
    });
    // Each channel delivers in the order things happened.
    expect(received.map((b) => JSON.parse(b).event)).toEqual(['task:dead', 'host:down']);
  });
});

describe('ygg monitor and ygg logs without a loop', () => {
  it('shows the queue from the store, says the loop is not running, and prints a task log', async () => {
    const ws = await workspace('monitor-store-only');
    await ws.add('bd-q1', 'queued one', { handler: 'simulate', simulate_ms: 10 });
    await ws.add('bd-q2', 'queued two', {
      history: [
        {
          attempt: 1,
          host: 'surtr',
          start: '2026-01-01T00:00:00.000Z',
          end: '2026-01-01T00:00:02.000Z',
          outcome: 'failed',
          error: 'Error: first try\n  at x',
        },
      ],
    });
    const once = await runYgg(['monitor', '--once'], { cwd: ws.dir });
    expect(once.code, once.stderr).toBe(0);
    const lines = once.stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(24);
    expect(once.stdout).toContain('loop not running');
    expect(once.stdout).toMatch(/Queue 2 ready · general P2:2/);
    expect(once.stdout).toMatch(/surtr\s+unknown\s+0\/2/);
    expect(once.stdout).not.toContain('\x1b');
    // A printed frame: no key help and no padding to the screen's height.
    expect(once.stdout).not.toContain('q quit');
    expect(once.stdout).not.toMatch(/\n\n$/);

    const json = await runYgg(['monitor', '--json'], { cwd: ws.dir });
    const snapshot = JSON.parse(json.stdout);
    expect(snapshot.loop.running).toBe(false);
    expect(snapshot.queue.total).toBe(2);
    expect(snapshot.recent[0]).toMatchObject({
      id: 'bd-q2',
      outcome: 'failed',
      error: 'Error: first try',
      runMs: 2000,
    });

    const logs = await runYgg(['logs', 'bd-q2'], { cwd: ws.dir });
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/#1 on surtr .* failed {2}2\.0s/);
    expect(logs.stdout).toContain('Error: first try');
    const missing = await runYgg(['logs', 'bd-nope'], { cwd: ws.dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no task bd-nope');
  });
});
