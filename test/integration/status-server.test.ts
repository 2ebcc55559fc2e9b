import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePort } from '../../src/cli/observe-options.js';
import { createMetrics } from '../../src/observe/metrics.js';
import { statusClient } from '../../src/observe/monitor/client.js';
import { readStatusFile } from '../../src/observe/server/status-file.js';
import { startStatusServer } from '../../src/observe/server.js';
import { fakeStatusSource } from '../helpers/fake-status-source.js';
import { testDir } from '../helpers/tmp.js';

/** A raw request, so the Host header and method are exactly what the test says. */
function raw(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; host?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.host ?? '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('status server', () => {
  it('refuses cancel and retry without the token or with a wrong one, and runs them with it', async () => {
    const source = fakeStatusSource();
    await using server = await startStatusServer({ source, port: 0 });
    const none = await raw(server.port, '/tasks/bd-run/cancel', { method: 'POST' });
    expect(none.status).toBe(401);
    const wrong = await raw(server.port, '/tasks/bd-run/cancel', {
      method: 'POST',
      headers: { authorization: 'Bearer not-the-token' },
    });
    expect(wrong.status).toBe(403);
    expect(source.calls).toEqual([]);

    const auth = { authorization: `Bearer ${server.token}` };
    expect((await raw(server.port, '/tasks/bd-run/cancel', { method: 'POST', headers: auth })).status).toBe(
      200,
    );
    expect((await raw(server.port, '/tasks/bd-dead/retry', { method: 'POST', headers: auth })).status).toBe(
      200,
    );
    const notDead = await raw(server.port, '/tasks/bd-run/retry', { method: 'POST', headers: auth });
    expect(notDead.status).toBe(409);
    expect(JSON.parse(notDead.body).error).toMatch(/not dead/);
    expect((await raw(server.port, '/tasks/bd-run/cancel', { headers: auth })).status).toBe(405);
    expect(source.calls).toEqual(['cancel bd-run', 'retry bd-dead']);
  });

  it('binds 127.0.0.1 only by default, and answers reads there without a token', async () => {
    const source = fakeStatusSource();
    await using server = await startStatusServer({ source, port: 0 });
    expect(server.host).toBe('127.0.0.1');
    const status = await raw(server.port, '/status');
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body).running[0].id).toBe('bd-run');
    const page = await raw(server.port, '/');
    expect(page.body).toContain('<title>ygg</title>');
    expect(page.body).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // self-contained

    const outside = nonLoopbackAddress();
    if (outside) {
      const refused = await new Promise<string>((resolve) => {
        const socket = connect({ host: outside, port: server.port });
        socket.on('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
    }
    // A page elsewhere that rebinds its DNS name to 127.0.0.1 sends its own Host: refused.
    const rebound = await raw(server.port, '/status', { headers: { host: `evil.example:${server.port}` } });
    expect(rebound.status).toBe(403);
  });

  it('requires the token for every request when opened to the network', async () => {
    const source = fakeStatusSource();
    await using server = await startStatusServer({ source, port: 0, host: '0.0.0.0' });
    expect((await raw(server.port, '/status')).status).toBe(401);
    expect((await raw(server.port, '/')).status).toBe(401);
    expect((await raw(server.port, '/events')).status).toBe(401);
    const ok = await raw(server.port, '/status', { headers: { authorization: `Bearer ${server.token}` } });
    expect(ok.status).toBe(200);
    expect((await raw(server.port, `/?token=${server.token}`)).status).toBe(200);
    expect(server.browserUrl).toContain(`?token=${server.token}`);
    // The link to open names an address of this machine a phone can reach, not 0.0.0.0.
    const lan = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal)
      .map((a) => a!.address);
    if (lan.length > 0) expect(lan.some((a) => server.browserUrl.includes(a))).toBe(true);
    expect(server.browserUrl).not.toContain('0.0.0.0');
  });

  it('says plainly when it cannot listen where it was told to', async () => {
    await expect(
      startStatusServer({ source: fakeStatusSource(), port: 0, host: '10.99.99.99' }),
    ).rejects.toThrow(/10\.99\.99\.99 is not an address of this machine/);
    await expect(
      startStatusServer({ source: fakeStatusSource(), port: 0, host: 'nonexistent.invalid' }),
    ).rejects.toThrow(/the name nonexistent\.invalid does not resolve/);
    expect(() => parsePort('abc')).toThrow(/abc is not a port/);
    expect(() => parsePort('99999')).toThrow(/from 0 \(any free one\) to 65535/);
    expect(() => parsePort('-1')).toThrow(/not a port/);
    expect(parsePort('0')).toBe(0);
  });

  it('writes port and token owner-only beside the store, and removes them on close', async () => {
    const dir = await testDir('status-file');
    const runtimeDir = join(dir, '.ygg');
    const server = await startStatusServer({ source: fakeStatusSource(), port: 0, runtimeDir });
    const file = await readStatusFile(runtimeDir);
    expect(file).toMatchObject({ port: server.port, token: server.token, pid: process.pid });
    expect((await stat(join(runtimeDir, 'status.json'))).mode & 0o777).toBe(0o600);
    await server.close();
    await server.close(); // twice is fine
    expect(await readStatusFile(runtimeDir)).toBeUndefined();
  });

  it('streams bus events and snapshots over SSE, and close ends the stream with no socket left', async () => {
    const source = fakeStatusSource();
    const metrics = createMetrics({
      bus: source.bus,
      snapshot: () => source.snapshot(),
      defaultMetrics: false,
    });
    const server = await startStatusServer({ source, metrics, port: 0, sse: { settleMs: 10 } });
    const client = statusClient({ ...fileOf(server), pid: process.pid });
    const seen: Array<{ event: string; data: unknown }> = [];
    let firstSnapshot: () => void = () => {};
    const gotSnapshot = new Promise<void>((resolve) => {
      firstSnapshot = resolve;
    });
    let succeeded: () => void = () => {};
    const gotSucceeded = new Promise<void>((resolve) => {
      succeeded = resolve;
    });
    const streaming = client.events((event, data) => {
      seen.push({ event, data });
      if (event === 'snapshot') firstSnapshot();
      if (event === 'task:succeeded') succeeded();
    });
    await gotSnapshot;
    source.bus.emit('task:succeeded', {
      taskId: 'bd-run',
      type: 'general',
      host: 'surtr',
      attempt: 1,
      runMs: 5,
    });
    await gotSucceeded;
    expect(seen.find((s) => s.event === 'task:succeeded')?.data).toMatchObject({
      taskId: 'bd-run',
      runMs: 5,
    });

    const metricsText = await raw(server.port, '/metrics');
    expect(metricsText.body).toContain('ygg_tasks_total{outcome="succeeded"} 1');

    await server.close();
    await streaming; // the stream ended because the server closed it
    expect(await connectionRefused(server.port)).toBe(true);
  });
});

function fileOf(server: { host: string; port: number; url: string; token: string }) {
  return {
    host: server.host,
    port: server.port,
    url: server.url,
    token: server.token,
    startedAt: new Date().toISOString(),
    version: 'test',
  };
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });
}
