/**
 * Each built-in model handler end to end: tasks in a Beads file, the real `ygg loop --until-idle`
 * process, hosts.yaml pointing each host's `model:` at a test model server (one Ollama, one
 * OpenAI-compatible), results read back from the file and the artifact folder.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Task, yggOf } from '../../src/store/task.js';
import { runYgg, yggBin } from '../helpers/cli.js';
import { type ModelServer, type RecordedRequest, startModelServer } from '../helpers/model-server.js';
import { readTasks } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';

const servers: ModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: Parameters<typeof startModelServer>[0]): Promise<ModelServer> {
  const started = await startModelServer(options);
  servers.push(started);
  return started;
}

const codeAnswer = [
  'The module:',
  '',
  '```python src/fib.py',
  'def fib(n):',
  '    a, b = 0, 1',
  '    for _ in range(n):',
  '        a, b = b, a + b',
  '    return a',
  '```',
  '',
  '## Findings',
  '- [minor] fib.py:1: no type hints',
].join('\n');

/** Answers code prompts with code, everything else with a line naming the task's title. */
function scripted(request: RecordedRequest): { text: string } {
  const messages = (request.body as { messages?: { content: string }[] }).messages ?? [];
  const system = messages[0]?.content ?? '';
  const title = /^# (.*)$/m.exec(messages[1]?.content ?? '')?.[1] ?? '?';
  if (system.includes('fenced code block')) return { text: codeAnswer };
  return { text: `Answer for "${title}".` };
}

let nextId = 1;
function taskLine(title: string, labels: string[], extra: Partial<Task> = {}): Task {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    id: `bd-m${nextId++}`,
    title,
    description: `Do: ${title}.`,
    acceptance_criteria: 'It works.',
    status: 'open',
    priority: 2,
    issue_type: 'task',
    created_at: now,
    updated_at: now,
    labels: [...labels].sort(),
    ...extra,
  };
}

async function workspace(name: string, yaml: string, tasks: Task[]): Promise<{ dir: string; store: string }> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  const store = join(dir, '.beads', 'issues.jsonl');
  await writeFile(store, tasks.map((t) => `${JSON.stringify(t)}\n`).join(''));
  await writeFile(join(dir, 'hosts.yaml'), yaml);
  return { dir, store };
}

async function loopUntilIdle(dir: string, env: Record<string, string> = {}) {
  const result = await runYgg(
    ['loop', '--until-idle', '--no-status', '--config', 'hosts.yaml', '--log-level', 'debug'],
    {
      cwd: dir,
      env,
      timeoutMs: 90_000,
    },
  );
  expect(result.code, result.stderr).toBe(0);
  return result;
}

const lastComment = (task: Task | undefined) => task?.comments?.at(-1)?.text ?? '';

/** surtr serving qwen2.5-coder over Ollama's API, fenrir llama-3.1 over the OpenAI one. */
const twoEndpoints = (ollamaUrl: string, openaiUrl: string) => `hosts:
  surtr:
    transport: local
    slots: 2
    model: { api: ollama, url: "${ollamaUrl}", model: "qwen2.5-coder:7b" }
  fenrir:
    transport: local
    slots: 2
    model: { api: openai, url: "${openaiUrl}/v1", model: "llama-3.1-8b-instruct" }
`;

describe('model handlers through ygg loop', () => {
  it('runs every model type on its host endpoint, over both wire formats', async () => {
    const ollama = await server({ models: ['qwen2.5-coder:7b'] });
    const openai = await server({ models: ['llama-3.1-8b-instruct'] });
    ollama.setDefault(scripted);
    openai.setDefault(scripted);
    const yaml = `
${twoEndpoints(ollama.url, openai.url)}types:
  code-generation: { hosts: [surtr] }
  code-refactor: { hosts: [surtr] }
  code-review: { hosts: [surtr] }
  text-processing: { hosts: [fenrir] }
  text-generation: { hosts: [fenrir] }
  summarize: { hosts: [fenrir] }
  reasoning: { hosts: [fenrir] }
  general: { hosts: [fenrir] }
queue: { poll_interval: 500ms }
`;
    const types = [
      'code-generation',
      'code-refactor',
      'code-review',
      'text-processing',
      'text-generation',
      'summarize',
      'reasoning',
    ];
    const tasks = [...types.map((type) => taskLine(`a ${type} task`, [type])), taskLine('say hello', [])];
    const { dir, store } = await workspace('model handlers loop', yaml, tasks);
    await loopUntilIdle(dir);

    const done = new Map((await readTasks(store)).map((t) => [t.title, t]));
    for (const type of [...types, 'general']) {
      const title = type === 'general' ? 'say hello' : `a ${type} task`;
      const task = done.get(title);
      expect(task?.status, `${type}: ${lastComment(task)}`).toBe('closed');
      const result = yggOf(task!).result as Record<string, unknown>;
      const onSurtr = type.startsWith('code-');
      expect(result).toMatchObject({
        handler: type === 'text-generation' ? 'text-processing' : type,
        host: onSurtr ? 'surtr' : 'fenrir',
        model: onSurtr ? 'qwen2.5-coder:7b' : 'llama-3.1-8b-instruct',
        api: onSurtr ? 'ollama' : 'openai',
      });
      expect(result.completion_tokens).toEqual(expect.any(Number));
      expect(result.duration_ms).toEqual(expect.any(Number));
      if (onSurtr) {
        expect(lastComment(task)).toContain('Saved 1 file: src/fib.py');
        const file = join(dir, '.ygg', 'artifacts', task!.id, '1', 'src', 'fib.py');
        expect(await readFile(file, 'utf8')).toContain('a, b = b, a + b');
      } else {
        expect(lastComment(task)).toContain(`Answer for "${title}".`);
      }
    }
    expect(yggOf(done.get('a code-review task')!).result).toMatchObject({
      findings: ['[minor] fib.py:1: no type hints'],
    });
    // The prompt carried the task's fields (the loop also reads the endpoints' model lists).
    const prompts = [...ollama.requests, ...openai.requests]
      .filter((r) => r.path === '/api/chat' || r.path === '/v1/chat/completions')
      .map((r) => (r.body as { messages: { content: string }[] }).messages[1]?.content ?? '');
    expect(prompts.find((p) => p.startsWith('# a summarize task'))).toContain(
      '## Description\nDo: a summarize task.\n\n## Acceptance criteria\nIt works.',
    );
  });

  it('sends a task asking for a model (label model:NAME) only to a host whose endpoint lists it', async () => {
    const ollama = await server({ models: ['qwen2.5-coder:7b'] });
    const openai = await server({ models: ['llama-3.1-8b-instruct', 'mistral-7b-instruct'] });
    ollama.setDefault(scripted);
    openai.setDefault(scripted);
    const yaml = `
${twoEndpoints(ollama.url, openai.url)}types:
  general: { hosts: [surtr, fenrir] }
queue: { poll_interval: 500ms }
`;
    const listed = taskLine('listed only', ['model:mistral-7b-instruct']);
    const coder = taskLine('needs the coder', ['model:qwen2.5-coder:7b']);
    const nowhere = taskLine('needs a model nobody serves', ['model:gpt-imaginary']);
    const { dir, store } = await workspace('model routing', yaml, [listed, coder, nowhere]);
    const loop = spawn(process.execPath, [yggBin, 'loop', '--status-port', '0', '--config', 'hosts.yaml'], {
      cwd: dir,
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => loop.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    let tasks = await readTasks(store);
    while (!tasks.filter((t) => t.id !== nowhere.id).every((t) => t.status === 'closed')) {
      if (Date.now() > deadline) throw new Error(`tasks not closed: ${JSON.stringify(tasks)}`);
      await new Promise((r) => setTimeout(r, 100));
      tasks = await readTasks(store);
    }
    const why = await runYgg(['list', '--ready'], { cwd: dir });
    expect(why.stdout).toMatch(
      /needs a model nobody serves.*surtr does not serve model gpt-imaginary; fenrir does not serve model gpt-imaginary/,
    );
    const byId = new Map(tasks.map((t) => [t.id, t]));
    expect(yggOf(byId.get(listed.id)!).history?.at(-1)?.host).toBe('fenrir');
    expect(yggOf(byId.get(coder.id)!).history?.at(-1)?.host).toBe('surtr');
    expect(byId.get(nowhere.id)?.status).toBe('open');
    const models = openai.requests
      .filter((r) => r.path === '/v1/chat/completions')
      .map((r) => (r.body as { model: string }).model);
    expect(models).toEqual(['mistral-7b-instruct']);
    loop.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('retries a 500 and a dropped stream, dead-letters a 400 at once, and blocks a host without an endpoint', async () => {
    const ollama = await server({ models: ['llama3:latest'] });
    ollama.setDefault(scripted);
    const yaml = `
hosts:
  surtr:
    transport: local
    slots: 1
    model: { api: ollama, url: "${ollama.url}", model: "llama3" }
  skadi:
    transport: local
    slots: 1
types:
  summarize: { hosts: [surtr] }
  reasoning: { hosts: [skadi] }
defaults:
  attempts: 3
  backoff: { base: 50ms, max: 200ms, jitter: 0 }
queue: { poll_interval: 200ms }
`;
    const flaky = taskLine('flaky summary', ['summarize']);
    const { dir, store } = await workspace('model handlers loop failures', yaml, [flaky]);
    ollama.enqueue({ status: 500 }, { tokens: ['cut '], disconnectAfter: 1 });
    await loopUntilIdle(dir);
    let tasks = await readTasks(store);
    expect(tasks[0]?.status, lastComment(tasks[0])).toBe('closed');
    expect(yggOf(tasks[0]!).attempt).toBe(3);
    expect(ollama.requests.filter((r) => r.path === '/api/chat')).toHaveLength(3);

    const rejected = taskLine('rejected summary', ['summarize']);
    const orphan = taskLine('reason with no model', ['reasoning']);
    await writeFile(store, [...tasks, rejected, orphan].map((t) => `${JSON.stringify(t)}\n`).join(''));
    ollama.enqueue({ status: 400, errorMessage: 'invalid options: num_ctx must be positive' });
    await loopUntilIdle(dir);
    tasks = await readTasks(store);
    const byTitle = new Map(tasks.map((t) => [t.title, t]));
    const bad = byTitle.get('rejected summary');
    expect(bad?.status).toBe('blocked');
    expect(yggOf(bad!).attempt).toBe(1);
    expect(lastComment(bad)).toContain('invalid options: num_ctx must be positive');
    const none = byTitle.get('reason with no model');
    expect(none?.status).toBe('blocked');
    expect(yggOf(none!).attempt).toBe(1);
    expect(lastComment(none)).toContain('hosts.skadi.model');
  });

  it('keeps the API key out of the logs and the store', async () => {
    const key = 'sk-loop-secret-7f3a9c';
    const openai = await server({ models: ['llama-3.1-8b-instruct'], apiKey: key });
    openai.setDefault(scripted);
    openai.enqueue({ status: 401, echoAuthorization: true });
    const yaml = `
hosts:
  fenrir:
    transport: local
    model: { api: openai, url: "${openai.url}", model: "llama-3.1-8b-instruct", api_key_env: YGG_LOOP_TEST_KEY }
queue: { poll_interval: 200ms }
`;
    const { dir, store } = await workspace('model handlers loop key', yaml, [
      taskLine('echoing endpoint', ['general']),
      taskLine('fine task', ['general']),
    ]);
    const run = await loopUntilIdle(dir, { YGG_LOOP_TEST_KEY: key });
    expect(openai.requests.every((r) => r.headers.authorization === `Bearer ${key}`)).toBe(true);
    expect(run.stdout + run.stderr).not.toContain(key);
    expect(await readFile(store, 'utf8')).not.toContain(key);
    const statuses = (await readTasks(store)).map((t) => t.status).sort();
    expect(statuses).toEqual(['blocked', 'closed']);
  });
});
