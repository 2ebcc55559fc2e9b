import { afterEach, describe, expect, it } from 'vitest';
import { createModelClient } from '../../src/hosts/model/client.js';
import { ModelTimeoutError } from '../../src/hosts/model/errors.js';
import { endpointOf, type ModelServer, startModelServer, type WireApi } from '../helpers/model-server.js';
import { startUnresponsivePort } from '../helpers/unresponsive-port.js';

let server: ModelServer;
afterEach(async () => {
  await server?.close();
});

const apis: WireApi[] = ['ollama', 'openai'];
const messages = [{ role: 'user' as const, content: 'Write a haiku about GPUs.' }];

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (error: unknown) => error as Error,
  );
}

describe.each(apis)('%s client timeouts', (api) => {
  it('fires the first-token timeout while the model loads, and closes the connection', async () => {
    server = await startModelServer();
    server.enqueue({ holdFirstToken: true });
    const client = createModelClient(endpointOf(server, api, { firstTokenTimeoutMs: 300 }));
    const error = await rejection(client.chat(messages));
    expect(error).toBeInstanceOf(ModelTimeoutError);
    expect((error as ModelTimeoutError).timeout).toBe('first-token');
    expect(error.message).toContain('first-token timeout after 300 ms');
    expect(error.message).toContain(server.url);
    await server.waitForOpenSockets(0);
  });

  it('waits out a slow first token that is within its limit', async () => {
    server = await startModelServer();
    server.enqueue({ firstTokenDelayMs: 150, text: 'late but fine' });
    const client = createModelClient(
      endpointOf(server, api, { firstTokenTimeoutMs: 10_000, idleTimeoutMs: 100 }),
    );
    expect((await client.chat(messages)).text).toBe('late but fine');
  });

  it('fires the idle timeout when the stream stalls mid-way, and closes the connection', async () => {
    server = await startModelServer();
    server.enqueue({ tokens: ['Silicon ', 'hums ', 'softly'], stallAfter: 2 });
    const client = createModelClient(endpointOf(server, api, { idleTimeoutMs: 300 }));
    const tokens: string[] = [];
    const error = await rejection(client.chat(messages, { onToken: (t) => tokens.push(t) }));
    expect(tokens).toEqual(['Silicon ', 'hums ']);
    expect((error as ModelTimeoutError).timeout).toBe('idle');
    expect(error.message).toContain('idle timeout after 300 ms');
    await server.waitForOpenSockets(0);
  });

  it('fires the total timeout on a stream that keeps going too long', async () => {
    server = await startModelServer();
    server.enqueue({ tokens: Array.from({ length: 200 }, (_, i) => `t${i} `), tokenDelayMs: 20 });
    const client = createModelClient(endpointOf(server, api, { idleTimeoutMs: 5_000, totalTimeoutMs: 400 }));
    let count = 0;
    const error = await rejection(client.chat(messages, { onToken: () => count++ }));
    expect((error as ModelTimeoutError).timeout).toBe('total');
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThan(200);
    await server.waitForOpenSockets(0);
  });

  it('cancels mid-stream on the caller signal and closes the connection', async () => {
    server = await startModelServer();
    server.enqueue({ tokens: ['one ', 'two ', 'three'], stallAfter: 2 });
    const client = createModelClient(endpointOf(server, api));
    const controller = new AbortController();
    const tokens: string[] = [];
    const reason = new Error('task cancelled by ygg cancel');
    const pending = client.chat(messages, {
      signal: controller.signal,
      onToken: (t) => {
        tokens.push(t);
        if (tokens.length === 2) controller.abort(reason);
      },
    });
    const error = await rejection(pending);
    expect(error).toBe(reason);
    expect(tokens).toEqual(['one ', 'two ']);
    await server.waitForConnectionClosed(server.requests[0]!, 1_000);
  });

  it('fails at once on a signal that is already aborted, without connecting', async () => {
    server = await startModelServer();
    const client = createModelClient(endpointOf(server, api));
    const error = await rejection(
      client.chat(messages, { signal: AbortSignal.abort(new Error('shutdown')) }),
    );
    expect(error.message).toBe('shutdown');
    expect(server.requests).toHaveLength(0);
  });
});

describe('connect timeout', () => {
  it.each(apis)('%s: fires when the host does not answer the connect', async (api) => {
    await using port = await startUnresponsivePort();
    const client = createModelClient({
      ...endpointOf({ url: `http://127.0.0.1:${port.port}`, models: ['llama3:latest'] }, api),
      connectTimeoutMs: 300,
      firstTokenTimeoutMs: 5_000,
    });
    const started = performance.now();
    const error = await rejection(client.chat(messages));
    expect((error as ModelTimeoutError).timeout).toBe('connect');
    expect(error.message).toContain('connect timeout after 300 ms');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('does not count model loading against the connect timeout', async () => {
    server = await startModelServer();
    server.enqueue({ firstTokenDelayMs: 400, text: 'loaded' });
    const client = createModelClient(endpointOf(server, 'ollama', { connectTimeoutMs: 100 }));
    expect((await client.chat(messages)).text).toBe('loaded');
  });
});
