import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { NonRetryableError } from '../../src/errors.js';
import { createModelClient } from '../../src/hosts/model/client.js';
import { ModelEndpointError, retryAfterOf } from '../../src/hosts/model/errors.js';
import { endpointOf, type ModelServer, startModelServer, type WireApi } from '../helpers/model-server.js';

let server: ModelServer;
afterEach(async () => {
  await server?.close();
});

const apis: WireApi[] = ['ollama', 'openai'];
const messages = [{ role: 'user' as const, content: 'Summarize the logs.' }];

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (error: unknown) => error as Error,
  );
}

describe.each(apis)('%s client errors', (api) => {
  it('a refused connection is retryable', async () => {
    server = await startModelServer();
    const url = server.url;
    await server.close();
    const client = createModelClient(endpointOf({ url, models: ['llama3:latest'] }, api));
    const error = await rejection(client.chat(messages));
    expect(error).toBeInstanceOf(ModelEndpointError);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain(url);
  });

  it('a 429 is retryable and carries Retry-After as the next delay', async () => {
    server = await startModelServer();
    server.enqueue({ status: 429, retryAfter: '7' });
    const client = createModelClient(endpointOf(server, api));
    const error = await rejection(client.chat(messages));
    expect(error).toBeInstanceOf(ModelEndpointError);
    expect((error as ModelEndpointError).status).toBe(429);
    expect(retryAfterOf(error)).toBe(7_000);
    expect(error.message).toContain('HTTP 429');
    expect(error.message).toContain('Rate limit reached');
  });

  it('reads Retry-After given as an HTTP date', async () => {
    server = await startModelServer();
    const at = new Date(Date.now() + 60_000).toUTCString();
    server.enqueue({ status: 429, retryAfter: at });
    const client = createModelClient(endpointOf(server, api));
    const delay = retryAfterOf(await rejection(client.chat(messages)));
    expect(delay).toBeGreaterThan(50_000);
    expect(delay).toBeLessThanOrEqual(60_000);
  });

  it('a 500 is retryable and quotes the endpoint', async () => {
    server = await startModelServer();
    server.enqueue({ status: 500 });
    const client = createModelClient(endpointOf(server, api));
    const error = await rejection(client.chat(messages));
    expect(error).toBeInstanceOf(ModelEndpointError);
    expect((error as ModelEndpointError).status).toBe(500);
    expect(error.message).toContain('llama runner process has terminated: exit status 2');
  });

  it('a 400 is not retryable and says what the endpoint answered', async () => {
    server = await startModelServer();
    server.enqueue({ status: 400, errorMessage: "'messages' must contain at least one message" });
    const client = createModelClient(endpointOf(server, api));
    const error = await rejection(client.chat(messages));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain("'messages' must contain at least one message");
    if (api === 'openai') expect(error.message).toContain('invalid_request_error');
  });

  it('an unknown model is not retryable and names it', async () => {
    server = await startModelServer({ models: ['llama3:latest'] });
    const client = createModelClient(endpointOf(server, api, { model: 'gpt-oss:120b' }));
    const error = await rejection(client.chat(messages));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toContain('HTTP 404');
    expect(error.message).toContain('gpt-oss:120b');
  });

  it('a disconnect mid-stream is retryable and leaves no open socket', async () => {
    server = await startModelServer();
    server.enqueue({ tokens: ['a', 'b', 'c', 'd'], disconnectAfter: 2 });
    const client = createModelClient(endpointOf(server, api));
    const tokens: string[] = [];
    const error = await rejection(client.chat(messages, { onToken: (t) => tokens.push(t) }));
    expect(tokens).toEqual(['a', 'b']);
    expect(error).toBeInstanceOf(ModelEndpointError);
    await server.waitForOpenSockets(0);
  });

  it('an error record mid-stream is retryable and quoted', async () => {
    server = await startModelServer();
    server.enqueue({ tokens: ['a', 'b', 'c'], errorAfter: 1 });
    const client = createModelClient(endpointOf(server, api));
    const error = await rejection(client.chat(messages));
    expect(error).toBeInstanceOf(ModelEndpointError);
    expect(error.message).toContain('signal: killed');
  });

  it('a stream that ends without its final record is retryable', async () => {
    server = await startModelServer();
    server.enqueue({ tokens: ['a', 'b'], omitFinal: true });
    const client = createModelClient(endpointOf(server, api));
    const error = await rejection(client.chat(messages));
    expect(error).toBeInstanceOf(ModelEndpointError);
    expect(error.message).toMatch(/ended before/);
  });

  it('a failing model list is classified the same way', async () => {
    server = await startModelServer();
    server.enqueueList({ status: 503, retryAfter: '2' }, { status: 401 });
    const client = createModelClient(endpointOf(server, api));
    expect(retryAfterOf(await rejection(client.listModels()))).toBe(2_000);
    expect(await rejection(client.listModels())).toBeInstanceOf(NonRetryableError);
  });
});

describe.each(apis)('%s API key', (api) => {
  const key = 'sk-ygg-test-0123456789abcdef';

  it('is read from the named variable and sent as a bearer token', async () => {
    server = await startModelServer({ apiKey: key });
    const client = createModelClient(endpointOf(server, api, { apiKeyEnv: 'YGG_TEST_KEY' }), {
      env: { YGG_TEST_KEY: key },
    });
    expect((await client.chat(messages)).text).toContain('Hello');
    await client.listModels();
    expect(server.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${key}`, `Bearer ${key}`]);
  });

  it('missing from the environment fails without a request, naming the variable', async () => {
    server = await startModelServer({ apiKey: key });
    const client = createModelClient(endpointOf(server, api, { apiKeyEnv: 'YGG_TEST_KEY' }), {
      env: {},
      configKey: 'hosts.surtr.model',
    });
    const error = await rejection(client.chat(messages));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toContain('YGG_TEST_KEY');
    expect(error.message).toContain('hosts.surtr.model.api_key_env');
    expect(server.requests).toHaveLength(0);
  });

  it('never appears in errors, even when the endpoint echoes it back', async () => {
    server = await startModelServer({ apiKey: key });
    server.enqueue({ status: 400, echoAuthorization: true }, { status: 500, echoAuthorization: true });
    const client = createModelClient(endpointOf(server, api, { apiKeyEnv: 'YGG_TEST_KEY' }), {
      env: { YGG_TEST_KEY: key },
    });
    for (const error of [await rejection(client.chat(messages)), await rejection(client.chat(messages))]) {
      expect(error.message).toContain('[redacted]');
      expect(inspect(error, { depth: 10 })).not.toContain(key);
      expect(JSON.stringify(error)).not.toContain(key);
    }
  });

  it('credentials in the URL go into a Basic header and out of every message', async () => {
    server = await startModelServer();
    server.enqueue({ status: 500 });
    const url = server.url.replace('http://', 'http://ygg:pa55word-xyz@');
    const client = createModelClient(endpointOf(server, api, { url }));
    const error = await rejection(client.chat(messages));
    expect(server.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('ygg:pa55word-xyz').toString('base64')}`,
    );
    expect(inspect(error, { depth: 10 })).not.toContain('pa55word-xyz');
    expect(error.message).toContain(server.url);
  });

  it('a wrong key is a non-retryable 401 that does not show the key', async () => {
    server = await startModelServer({ apiKey: 'the-right-key' });
    const client = createModelClient(endpointOf(server, api, { apiKeyEnv: 'YGG_TEST_KEY' }), {
      env: { YGG_TEST_KEY: key },
    });
    const error = await rejection(client.chat(messages));
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.message).toContain('HTTP 401');
    expect(inspect(error, { depth: 10 })).not.toContain(key);
  });
});
