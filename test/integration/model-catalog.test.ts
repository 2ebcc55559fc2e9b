import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { YggConfig } from '../../src/config/types.js';
import { EndpointCatalog } from '../../src/hosts/model/catalog.js';
import { checkEndpoint } from '../../src/hosts/model/check.js';
import { modelRequest, sameModel } from '../../src/hosts/model/model-request.js';
import { endpointOf, type ModelServer, startModelServer } from '../helpers/model-server.js';

const servers: ModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(models: string[]): Promise<ModelServer> {
  const started = await startModelServer({ models });
  servers.push(started);
  return started;
}

function config(yaml: string): YggConfig {
  const result = parseConfig(yaml, 'hosts.yaml');
  if (!result.config) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.config;
}

describe('modelRequest', () => {
  it('reads model:NAME from the labels, with a configurable prefix', () => {
    expect(modelRequest({ labels: ['code-generation', 'model:qwen2.5-coder:7b'] })).toBe('qwen2.5-coder:7b');
    expect(modelRequest({ labels: ['llm=phi3'] }, 'llm=')).toBe('phi3');
    expect(modelRequest({ labels: ['model:'] })).toBeUndefined();
    expect(modelRequest({})).toBeUndefined();
  });

  it('matches names the way Ollama does (no tag means :latest)', () => {
    expect(sameModel('llama3:latest', 'llama3')).toBe(true);
    expect(sameModel('Llama3:latest', 'llama3:latest')).toBe(true);
    expect(sameModel('llama3:8b', 'llama3')).toBe(false);
  });
});

describe('EndpointCatalog', () => {
  it('knows which host serves which model after a refresh, from both APIs', async () => {
    const ollama = await server(['llama3:latest', 'qwen2.5-coder:7b']);
    const openai = await server(['Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf']);
    const cfg = config(`
hosts:
  surtr:
    transport: local
    model: { api: ollama, url: "${ollama.url}", model: "llama3" }
  fenrir:
    transport: local
    model: { api: openai, url: "${openai.url}/v1", model: "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf" }
  skadi:
    transport: local
`);
    const catalog = new EndpointCatalog(cfg.hosts);
    // Before the first read, the configured models count.
    expect(catalog.serves('surtr', 'llama3')).toBe(true);
    expect(catalog.serves('surtr', 'qwen2.5-coder:7b')).toBe(false);

    await catalog.refresh();
    expect(catalog.serves('surtr', 'qwen2.5-coder:7b')).toBe(true);
    expect(catalog.serves('fenrir', 'qwen2.5-coder:7b')).toBe(false);
    expect(catalog.serves('fenrir', 'Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf')).toBe(true);
    expect(catalog.serves('skadi', 'llama3')).toBe(false);
    expect(catalog.hostsServing('qwen2.5-coder:7b', ['fenrir', 'skadi', 'surtr'])).toEqual(['surtr']);
    expect(catalog.models('surtr')?.listed).toEqual(['llama3:latest', 'qwen2.5-coder:7b']);

    // A model pulled later shows up on the next refresh.
    ollama.models = [...ollama.models, 'phi3:mini'];
    expect(catalog.serves('surtr', 'phi3:mini')).toBe(false);
    await catalog.refresh(['surtr']);
    expect(catalog.serves('surtr', 'phi3:mini')).toBe(true);
  });

  it('reads per-type endpoints too, and keeps the last list while an endpoint is down', async () => {
    const main = await server(['llama3:latest']);
    const coder = await server(['deepseek-coder-v2:16b']);
    const cfg = config(`
hosts:
  surtr:
    transport: local
    model: { api: ollama, url: "${main.url}", model: "llama3" }
    models_by_type:
      code-generation: { url: "${coder.url}", model: "deepseek-coder-v2:16b" }
`);
    let now = 1_000;
    const catalog = new EndpointCatalog(cfg.hosts, { now: () => now });
    await catalog.refresh();
    expect(catalog.serves('surtr', 'deepseek-coder-v2:16b')).toBe(true);
    expect(catalog.serves('surtr', 'llama3')).toBe(true);

    main.enqueueList({ status: 500 });
    coder.enqueueList({ status: 500 });
    now += 60_000;
    await catalog.refreshStale(30_000);
    const known = catalog.models('surtr');
    expect(known?.error).toContain('HTTP 500');
    expect(known?.checkedAt).toBe(now);
    expect(catalog.serves('surtr', 'deepseek-coder-v2:16b')).toBe(true);

    await catalog.refreshStale(30_000);
    expect(main.requests.filter((r) => r.path === '/api/tags')).toHaveLength(2);
  });
});

describe('checkEndpoint', () => {
  it('reports reachability, the models served and whether the configured one is there', async () => {
    const up = await server(['llama3:latest', 'phi3:mini']);
    const good = await checkEndpoint(endpointOf(up, 'openai', { model: 'phi3:mini' }));
    expect(good).toMatchObject({
      ok: true,
      models: ['llama3:latest', 'phi3:mini'],
      servesConfiguredModel: true,
    });
    expect(good.error).toBeUndefined();

    const missing = await checkEndpoint(endpointOf(up, 'ollama', { model: 'mixtral' }));
    expect(missing.ok).toBe(false);
    expect(missing.error).toContain('mixtral is not among the 2 models');

    const gone = await server([]);
    const url = gone.url;
    await gone.close();
    const down = await checkEndpoint(endpointOf({ url, models: [] }, 'ollama'));
    expect(down).toMatchObject({ ok: false, models: [] });
    expect(down.error).toContain('ECONNREFUSED');
  });
});
