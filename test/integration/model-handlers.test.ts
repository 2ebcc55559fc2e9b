import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { plugin as codeGeneration } from '../../plugins/code-generation.js';
import { plugin as codeRefactor } from '../../plugins/code-refactor.js';
import { plugin as codeReview } from '../../plugins/code-review.js';
import { plugin as general } from '../../plugins/general.js';
import { maxSummaryChars } from '../../plugins/lib/result.js';
import { plugin as reasoning } from '../../plugins/reasoning.js';
import { plugin as summarize } from '../../plugins/summarize.js';
import { plugin as textProcessing } from '../../plugins/text-processing.js';
import { parseConfig } from '../../src/config/load.js';
import type { HostConfig } from '../../src/config/types.js';
import { NonRetryableError } from '../../src/errors.js';
import type { HandlerContext, HandlerResult, Plugin } from '../../src/plugins/api.js';
import { attachLlm, createLlm } from '../../src/plugins/llm-context.js';
import type { Task } from '../../src/store/task.js';
import { type ModelServer, startModelServer } from '../helpers/model-server.js';
import { testDir } from '../helpers/tmp.js';

const servers: ModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: Parameters<typeof startModelServer>[0] = {}): Promise<ModelServer> {
  const started = await startModelServer(options);
  servers.push(started);
  return started;
}

function hostFrom(yaml: string, name: string): HostConfig {
  const result = parseConfig(yaml, 'hosts.yaml');
  if (!result.config) throw new Error(result.errors.map((e) => e.message).join('\n'));
  const host = result.config.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no host ${name}`);
  return host;
}

function hostWith(s: ModelServer, api: 'ollama' | 'openai', extra = ''): HostConfig {
  return hostFrom(
    `
hosts:
  surtr:
    transport: local
    model: { api: ${api}, url: "${s.url}", model: "${s.models[0]}"${extra} }
`,
    'surtr',
  );
}

interface Harness {
  ctx: HandlerContext;
  progress: string[];
  logs: string[];
  heartbeats: number;
  dir: string;
}

/** A HandlerContext as the runner builds one, with real files for artifacts. */
async function harness(name: string, host: HostConfig, type: string, signal?: AbortSignal): Promise<Harness> {
  const dir = await testDir(name);
  const h: Harness = {
    progress: [],
    logs: [],
    heartbeats: 0,
    dir,
    ctx: undefined as unknown as HandlerContext,
  };
  const log = (level: string) => (obj: object | string, msg?: string) =>
    h.logs.push(`${level} ${typeof obj === 'string' ? obj : JSON.stringify(obj)} ${msg ?? ''}`);
  h.ctx = {
    signal: signal ?? new AbortController().signal,
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    host,
    attempt: 1,
    type,
    artifactsDir: dir,
    exec: () => Promise.reject(new Error('model handlers run no commands')),
    progress: (text) => h.progress.push(text),
    heartbeat: () => {
      h.heartbeats++;
    },
  };
  return h;
}

const task = (extra: Partial<Task> = {}): Task => ({
  id: 'bd-a1b2',
  title: 'code: fibonacci module',
  description: 'Write a Python module with a fib(n) function.',
  design: 'Iterative, O(n), no recursion.',
  acceptance_criteria: 'fib(0) == 0, fib(10) == 55; tests with pytest.',
  status: 'in_progress',
  priority: 1,
  ...extra,
});

async function run(plugin: Plugin, t: Task, ctx: HandlerContext): Promise<HandlerResult> {
  const result = await plugin.run(t, ctx);
  if (!result || typeof result === 'string') throw new Error('expected a structured result');
  return result;
}

const codeAnswer = [
  'Here is the module and its tests.',
  '',
  '```python src/fib.py',
  'def fib(n: int) -> int:',
  '    a, b = 0, 1',
  '    for _ in range(n):',
  '        a, b = b, a + b',
  '    return a',
  '```',
  '',
  '```python tests/test_fib.py',
  'from src.fib import fib',
  '',
  'def test_fib():',
  '    assert fib(0) == 0',
  '    assert fib(10) == 55',
  '```',
  '',
  'Run `pytest -q`.',
].join('\n');

describe('code-generation', () => {
  it.each(['ollama', 'openai'] as const)(
    '%s: builds the prompt, streams to progress, saves each block',
    async (api) => {
      const s = await server({ models: ['qwen2.5-coder:7b'] });
      s.enqueue({ text: codeAnswer, promptTokens: 120, completionTokens: 64 });
      const h = await harness(`codegen ${api}`, hostWith(s, api), 'code-generation');
      const result = await run(codeGeneration, task(), h.ctx);

      const prompt = (s.requests[0]!.body as { messages: { role: string; content: string }[] }).messages;
      expect(prompt[0]?.role).toBe('system');
      expect(prompt[0]?.content).toContain('fenced code block');
      expect(prompt[1]?.content).toContain('# code: fibonacci module');
      expect(prompt[1]?.content).toContain('## Description\nWrite a Python module with a fib(n) function.');
      expect(prompt[1]?.content).toContain('## Design\nIterative, O(n), no recursion.');
      expect(prompt[1]?.content).toContain(
        '## Acceptance criteria\nfib(0) == 0, fib(10) == 55; tests with pytest.',
      );

      expect(result.artifacts).toEqual(['src/fib.py', 'tests/test_fib.py']);
      expect(await readFile(join(h.dir, 'src/fib.py'), 'utf8')).toContain('a, b = b, a + b\n');
      expect(await readFile(join(h.dir, 'tests/test_fib.py'), 'utf8')).toContain('assert fib(10) == 55\n');
      expect(result.summary).toMatch(/^Saved 2 files: src\/fib.py, tests\/test_fib.py/);
      expect(result.summary).toContain('Run `pytest -q`.');
      expect(result.metadata).toMatchObject({
        handler: 'code-generation',
        model: 'qwen2.5-coder:7b',
        host: 'surtr',
        api,
        prompt_tokens: 120,
        completion_tokens: 64,
      });
      expect(result.metadata?.duration_ms).toEqual(expect.any(Number));

      // Every token reached progress, after the opening line.
      expect(h.progress[0]).toBe('asking qwen2.5-coder:7b on surtr');
      expect(h.progress.slice(1).join('')).toBe(codeAnswer);
      expect(h.heartbeats).toBeGreaterThan(0);
    },
  );
});

describe('code-review', () => {
  it('lists the findings in the result and its metadata', async () => {
    const s = await server();
    s.enqueue({
      text: [
        '## Findings',
        '- [critical] db.py:12: SQL built from user input; use parameters.',
        '- [minor] db.py:3: unused import os',
        '',
        '```python db.py',
        'cur.execute("SELECT * FROM users WHERE id = ?", (user_id,))',
        '```',
        '',
        '## Verdict',
        'request changes',
      ].join('\n'),
    });
    const h = await harness('review', hostWith(s, 'openai'), 'code-review');
    const result = await run(codeReview, task({ title: 'review db.py', labels: ['code-review'] }), h.ctx);
    expect(result.metadata?.findings).toEqual([
      '[critical] db.py:12: SQL built from user input; use parameters.',
      '[minor] db.py:3: unused import os',
    ]);
    expect(result.summary).toContain('Saved 1 file: db.py');
    expect(result.summary).toContain('2 findings:\n- [critical] db.py:12');
    expect(result.artifacts).toEqual(['db.py']);
  });
});

describe.each([
  [codeRefactor, 'code-refactor', 'Keep its behaviour'],
  [textProcessing, 'text-processing', 'process and write text'],
  [textProcessing, 'text-generation', 'process and write text'],
  [summarize, 'summarize', 'summarize faithfully'],
  [reasoning, 'reasoning', '## Answer'],
  [general, 'general', 'Do what the task asks'],
] as const)('%s handler for %s', (plugin, type, promptWords) => {
  it('answers through the host model with its own prompt', async () => {
    const s = await server();
    s.enqueue({ text: `The answer for ${type}.`, completionTokens: 5 });
    const h = await harness(type, hostWith(s, 'ollama'), type);
    expect(plugin.types).toContain(type);
    const result = await run(plugin, task({ title: `a ${type} task` }), h.ctx);
    const messages = (s.requests[0]!.body as { messages: { content: string }[] }).messages;
    expect(messages[0]?.content).toContain(promptWords);
    expect(messages[1]?.content).toContain(`# a ${type} task`);
    expect(result.summary).toBe(`The answer for ${type}.`);
    expect(result.metadata).toMatchObject({ model: 'llama3:latest', host: 'surtr', completion_tokens: 5 });
  });
});

describe('model handlers', () => {
  it('keep a long answer whole in response.md and bound the summary', async () => {
    const s = await server();
    const long = `${'All work and no play makes a dull model. '.repeat(400)}THE END`;
    s.enqueue({ text: long });
    const h = await harness('long answer', hostWith(s, 'ollama'), 'general');
    const result = await run(general, task(), h.ctx);
    expect(result.artifacts).toEqual(['response.md']);
    expect((await readFile(join(h.dir, 'response.md'), 'utf8')).trimEnd()).toBe(long);
    expect(result.summary?.length).toBeLessThan(maxSummaryChars + 200);
    expect(result.summary).toContain('the whole answer is in response.md');
    expect(result.summary).not.toContain('THE END');
  });

  it('fail non-retryably on a host without an endpoint, naming the host and the key', async () => {
    const host = hostFrom('hosts:\n  skadi:\n    transport: local\n', 'skadi');
    const h = await harness('no endpoint', host, 'summarize');
    const error = await summarize.run(task(), h.ctx).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect((error as Error).message).toContain('host skadi has no model endpoint');
    expect((error as Error).message).toContain('hosts.skadi.model');
  });

  it('use the model the task asks for with a model: label', async () => {
    const s = await server({ models: ['llama3:latest', 'mistral:7b'] });
    const h = await harness('model label', hostWith(s, 'openai'), 'general');
    const result = await run(general, task({ labels: ['model:mistral:7b'] }), h.ctx);
    expect((s.requests[0]!.body as { model: string }).model).toBe('mistral:7b');
    expect(result.metadata?.model).toBe('mistral:7b');
  });

  it("use the host's per-type endpoint for that type", async () => {
    const main = await server({ models: ['llama3:latest'] });
    const coder = await server({ models: ['deepseek-coder-v2:16b'] });
    const host = hostFrom(
      `
hosts:
  surtr:
    transport: local
    model: { api: ollama, url: "${main.url}", model: "llama3" }
    models_by_type:
      code-generation: { api: openai, url: "${coder.url}", model: "deepseek-coder-v2:16b" }
`,
      'surtr',
    );
    const h = await harness('per type', host, 'code-generation');
    coder.enqueue({ text: codeAnswer });
    const result = await run(codeGeneration, task(), h.ctx);
    expect(result.metadata).toMatchObject({ model: 'deepseek-coder-v2:16b', api: 'openai' });
    expect(main.requests).toHaveLength(0);

    const h2 = await harness('per type other', host, 'summarize');
    await run(summarize, task(), h2.ctx);
    expect(main.requests).toHaveLength(1);
  });

  it('use ctx.llm when the runner provides one', async () => {
    const s = await server();
    const elsewhere = await server({ models: ['phi3:mini'] });
    const h = await harness('ctx llm', hostWith(s, 'ollama'), 'general');
    const other = hostWith(elsewhere, 'openai');
    h.ctx.llm = createLlm(other, 'general', { signal: h.ctx.signal });
    const result = await run(general, task(), h.ctx);
    expect(result.metadata?.model).toBe('phi3:mini');
    expect(s.requests).toHaveLength(0);
  });

  it('stop mid-stream when the task signal aborts, closing the connection', async () => {
    const s = await server();
    s.enqueue({ tokens: ['first ', 'second ', 'third'], stallAfter: 2 });
    const controller = new AbortController();
    const h = await harness(
      'cancel',
      hostWith(s, 'openai', ', timeouts: { idle: 30s }'),
      'general',
      controller.signal,
    );
    const running = general.run(task(), h.ctx);
    await s.waitForRequests(1);
    controller.abort(new Error('cancelled by ygg cancel'));
    await expect(running).rejects.toThrow('cancelled by ygg cancel');
    await s.waitForConnectionClosed(s.requests[0]!);
  });

  it('never put the API key in logs, progress or errors', async () => {
    const key = 'sk-live-never-show-me-42';
    process.env.YGG_HANDLER_TEST_KEY = key;
    try {
      const s = await server({ apiKey: key });
      s.enqueue(
        { text: 'fine' },
        { status: 400, echoAuthorization: true },
        { status: 503, echoAuthorization: true },
      );
      const host = hostWith(s, 'openai', ', api_key_env: YGG_HANDLER_TEST_KEY');
      const h = await harness('api key', host, 'general');
      const ok = await run(general, task(), h.ctx);
      const failures = [
        await general.run(task(), h.ctx).catch((e: unknown) => e as Error),
        await general.run(task(), h.ctx).catch((e: unknown) => e as Error),
      ];
      expect(s.requests.every((r) => r.headers.authorization === `Bearer ${key}`)).toBe(true);
      expect(failures[0]).toBeInstanceOf(NonRetryableError);
      const everything = [
        JSON.stringify(ok),
        ...h.logs,
        ...h.progress,
        ...failures.map((e) => inspect(e, { depth: 10 })),
      ];
      for (const text of everything) expect(text).not.toContain(key);
    } finally {
      delete process.env.YGG_HANDLER_TEST_KEY;
    }
  });
});

describe('attachLlm', () => {
  it('builds ctx.llm on first use, with the label prefix from the config', async () => {
    const s = await server({ models: ['llama3:latest', 'phi3:mini'] });
    const h = await harness('attach', hostWith(s, 'ollama'), 'general');
    attachLlm(h.ctx, { labels: ['llm=phi3:mini'] }, { labelPrefix: 'llm=' });
    const result = await run(general, task({ labels: ['llm=phi3:mini'] }), h.ctx);
    expect(result.metadata?.model).toBe('phi3:mini');
  });

  it('leaves a host without an endpoint alone until a handler asks for the model', async () => {
    const host = hostFrom('hosts:\n  skadi:\n    transport: local\n', 'skadi');
    const h = await harness('attach none', host, 'general');
    attachLlm(h.ctx, {});
    expect(() => h.ctx.llm).toThrow(NonRetryableError);
    await expect(general.run(task(), h.ctx)).rejects.toThrow('hosts.skadi.model');
  });
});

describe('result bounds', () => {
  it('list at most 10 findings in the summary and all of them in the metadata', async () => {
    const s = await server();
    const items = Array.from({ length: 25 }, (_, i) => `- [nit] file.py:${i + 1}: trailing space`);
    s.enqueue({ text: `## Findings\n${items.join('\n')}\n\n## Verdict\napprove` });
    const h = await harness('many findings', hostWith(s, 'ollama'), 'code-review');
    const result = await run(codeReview, task(), h.ctx);
    expect(result.metadata?.findings).toHaveLength(25);
    expect(result.summary).toContain('25 findings:');
    expect(result.summary).toContain('file.py:10:');
    expect(result.summary).toContain('… and 15 more');
  });
});
