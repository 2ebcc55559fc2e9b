/**
 * The status server under hostile clients, with its limits scaled down: it sheds its own load
 * (connections, slow requests, event streams that stop reading) and answers again afterwards;
 * it answers only to the names it is reached by, and 400 to a URL that does not decode.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startStatusServer } from '../../src/observe/server.js';
import { fakeStatusSource } from '../helpers/fake-status-source.js';
import { waitUntil } from '../helpers/wait.js';

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A connection that sends part of a request's headers and then nothing; `closed` once the server ends it. */
interface HalfSent {
  socket: Socket;
  closed: Promise<string>;
}

function halfSent(port: number): HalfSent {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  let answer = '';
  socket.setEncoding('utf8').on('data', (d: string) => {
    answer += d;
  });
  socket.on('connect', () => socket.write('GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(answer)));
  onTestFinished(() => {
    socket.destroy();
  });
  return { socket, closed };
}

describe('status server under hostile clients', () => {
  it('accepts only loopback names, the configured ones and, on a LAN bind, this machine’s', async () => {
    const source = fakeStatusSource();
    await using server = await startStatusServer({ source, port: 0, names: ['ygg.home.arpa'] });
    const hostIs = async (host: string) => (await get(server.port, '/status', { host })).status;
    for (const host of [
      '127.0.0.1.evil.example',
      `127.0.0.1.evil.example:${server.port}`,
      '127.0.0.2',
      '127.evil.example',
      'localhost.',
      'localhost.evil.example',
      `evil.example:${server.port}`,
      '127.0.0.1:7467@evil.example',
      '127.0.0.1:port',
      '[::1].evil.example',
    ])
      expect(await hostIs(host), host).toBe(403);
    for (const host of ['127.0.0.1', `127.0.0.1:${server.port}`, 'localhost', 'LOCALHOST:8080', '[::1]:7467'])
      expect(await hostIs(host), host).toBe(200);
    expect(await hostIs(`ygg.home.arpa:${server.port}`)).toBe(200);

    const lan = await startStatusServer({ source, port: 0, host: '0.0.0.0' });
    onTestFinished(() => lan.close());
    const auth = { authorization: `Bearer ${lan.token}` };
    const lanHostIs = async (host: string) => (await get(lan.port, '/status', { ...auth, host })).status;
    const addresses = Object.values(networkInterfaces())
      .flat()
      .flatMap((a) => (a && a.family === 'IPv4' ? [a.address] : []));
    for (const address of addresses) expect(await lanHostIs(`${address}:${lan.port}`), address).toBe(200);
    expect(await lanHostIs(hostname())).toBe(200);
    expect(await lanHostIs('127.0.0.1.evil.example')).toBe(403);
    expect(await lanHostIs(`evil.example:${lan.port}`)).toBe(403);
  });

  it('answers 400 to a malformed %-escape, not 500', async () => {
    const source = fakeStatusSource();
    const asked: string[] = [];
    source.output = (id) => {
      asked.push(id);
      return undefined;
    };
    await using server = await startStatusServer({ source, port: 0 });
    const auth = { authorization: `Bearer ${server.token}` };
    const cancel = await get(server.port, '/tasks/bd-%zz/cancel', auth, 'POST');
    expect(cancel.status).toBe(400);
    expect(JSON.parse(cancel.body).error).toMatch(/%-escape/);
    expect((await get(server.port, '/tasks/%E0%A4%A/output')).status).toBe(400);
    expect(asked).toEqual([]);
    expect((await get(server.port, '/tasks/bd%2Drun/output')).status).toBe(404); // well-formed: decoded
    expect(asked).toEqual(['bd-run']);
    expect((await get(server.port, '/status')).status).toBe(200);
  });

  it('holds a bounded number of connections, ends half-sent requests in time, and answers again', async () => {
    const warnings: string[] = [];
    await using server = await startStatusServer({
      source: fakeStatusSource(),
      port: 0,
      limits: { maxConnections: 8, headersTimeoutMs: 600, requestTimeoutMs: 1_000 },
      warn: (_fields, message) => warnings.push(message),
    });
    const flood = Array.from({ length: 40 }, () => halfSent(server.port));
    // Past the limit each one is closed as soon as it is accepted, with no answer.
    await Promise.race(flood.map((h) => h.closed));
    expect(warnings).toContainEqual(expect.stringMatching(/8 connections open, refusing more/));
    // Those it holds are answered 408 once their headers are late; none stays open.
    const answers = await Promise.all(flood.map((h) => h.closed));
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 408')).length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 408')).length).toBeLessThanOrEqual(8);
    expect((await get(server.port, '/status')).status).toBe(200);
  });

  it('drops event streams that stop reading once their backlog passes the bound; the others keep receiving', async () => {
    const source = fakeStatusSource();
    // A large snapshot every 20 ms fills what the kernel holds for a client that stops reading.
    source.state.running[0]!.title = 'x'.repeat(128 * 1024);
    const warnings: string[] = [];
    await using server = await startStatusServer({
      source,
      port: 0,
      limits: { maxStreamBacklogBytes: 256 * 1024, maxEventStreams: 6 },
      sse: { refreshMs: 20 },
      warn: (_fields, message) => warnings.push(message),
    });
    let received = 0;
    const healthy = connect({ host: '127.0.0.1', port: server.port });
    healthy.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    healthy.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    onTestFinished(() => {
      healthy.destroy();
    });
    const slow = Array.from({ length: 5 }, () => {
      const socket = connect({ host: '127.0.0.1', port: server.port });
      socket.on('error', () => {});
      socket.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      socket.pause(); // never reads: what the server sends piles up
      onTestFinished(() => {
        socket.destroy();
      });
      return socket;
    });
    await waitUntil(() => server.eventStreams === 6, { what: 'every stream to open' });
    // Beyond the bound on streams, a new one is refused.
    expect((await get(server.port, '/events')).status).toBe(503);
    await waitUntil(() => server.eventStreams === 1, {
      what: 'the slow streams to be dropped',
      timeoutMs: 45_000,
    });
    expect(warnings).toContainEqual(
      expect.stringMatching(/dropped an event stream whose client stopped reading/),
    );
    const before = received;
    await waitUntil(() => received > before + 1024 * 1024, { what: 'the reading client to go on receiving' });
    // A dropped client that reads again finds what was on its way, then the end of the stream.
    await Promise.all(
      slow.map(
        (socket) =>
          new Promise<void>((resolve) => {
            socket.on('close', () => resolve());
            socket.resume();
          }),
      ),
    );
    expect(server.eventStreams).toBe(1);
  });
});
