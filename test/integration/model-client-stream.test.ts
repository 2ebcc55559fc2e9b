import { afterEach, describe, expect, it } from 'vitest';
import { createModelClient } from '../../src/hosts/model/client.js';
import type { OllamaClient } from '../../src/hosts/model/ollama.js';
import { endpointOf, type ModelServer, startModelServer, type WireApi } from '../helpers/model-server.js';

let server: ModelServer;
afterEach(async () => {
  await server?.close();
});

const apis: WireApi[] = ['ollama', 'openai'];
const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say hello to the homelab.' },
];

describe.each(apis)('%s client streaming', (api) => {
  it('streams tokens in order and reports usage, model and duration', async () => {
    server = await startModelServer({ models: ['qwen2.5-coder:7b'] });
    server.enqueue({ tokens: ['Hel', 'lo', ', ', 'homelab', '.'], promptTokens: 21, completionTokens: 5 });
    const client = createModelClient(endpointOf(server, api));
    const tokens: string[] = [];
    const result = await client.chat(messages, { onToken: (t) => tokens.push(t) });

    expect(tokens).toEqual(['Hel', 'lo', ', ', 'homelab', '.']);
    expect(result.text).toBe('Hello, homelab.');
    expect(result.model).toBe('qwen2.5-coder:7b');
    expect(result.promptTokens).toBe(21);
    expect(result.completionTokens).toBe(5);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('sends the model, the messages, streaming on and the endpoint options', async () => {
    server = await startModelServer();
    const client = createModelClient(endpointOf(server, api, { options: { temperature: 0.2, seed: 7 } }));
    await client.chat(messages);
    const [request] = server.requests;
    const body = request?.body as Record<string, unknown>;
    expect(request?.method).toBe('POST');
    expect(body.model).toBe('llama3:latest');
    expect(body.messages).toEqual(messages);
    expect(body.stream).toBe(true);
    if (api === 'ollama') {
      expect(request?.path).toBe('/api/chat');
      expect(body.options).toEqual({ temperature: 0.2, seed: 7 });
    } else {
      expect(request?.path).toBe('/v1/chat/completions');
      expect(body.stream_options).toEqual({ include_usage: true });
      expect(body.temperature).toBe(0.2);
      expect(body.seed).toBe(7);
    }
  });

  it('uses the model a task asked for instead of the configured one', async () => {
    server = await startModelServer({ models: ['llama3:latest', 'mistral:7b'] });
    const client = createModelClient(endpointOf(server, api));
    const result = await client.chat(messages, { model: 'mistral:7b' });
    expect((server.requests[0]!.body as { model: string }).model).toBe('mistral:7b');
    expect(result.model).toBe('mistral:7b');
  });

  it('lists the models the endpoint serves', async () => {
    server = await startModelServer({ models: ['llama3:latest', 'phi3:mini', 'nomic-embed-text:latest'] });
    const client = createModelClient(endpointOf(server, api));
    expect(await client.listModels()).toEqual(['llama3:latest', 'phi3:mini', 'nomic-embed-text:latest']);
    expect(server.requests[0]?.path).toBe(api === 'ollama' ? '/api/tags' : '/v1/models');
  });
});

describe('endpoint URLs', () => {
  it('does not double a /v1 already in an OpenAI-compatible base URL', async () => {
    server = await startModelServer();
    const client = createModelClient(endpointOf(server, 'openai', { url: `${server.url}/v1/` }));
    await client.chat(messages);
    expect(server.requests[0]?.path).toBe('/v1/chat/completions');
  });
});

describe('ollama generate', () => {
  it('streams /api/generate with the prompt and system text', async () => {
    server = await startModelServer();
    server.enqueue({ tokens: ['4', '2'], completionTokens: 2 });
    const client = createModelClient(endpointOf(server, 'ollama')) as OllamaClient;
    const tokens: string[] = [];
    const result = await client.generate('What is six times seven?', {
      system: 'Answer with a number.',
      onToken: (t) => tokens.push(t),
    });
    expect(result.text).toBe('42');
    expect(tokens).toEqual(['4', '2']);
    expect(server.requests[0]?.path).toBe('/api/generate');
    expect(server.requests[0]?.body).toMatchObject({
      prompt: 'What is six times seven?',
      system: 'Answer with a number.',
      stream: true,
    });
  });
});
