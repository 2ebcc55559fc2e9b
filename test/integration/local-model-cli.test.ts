/**
 * The rest of a first task that works: `ygg run` uses the model server found on this machine as
 * the loop does, and `ygg add` warns only for tasks that go to a model, in a batch once per kind.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { startModelServer } from '../helpers/model-server.js';
import { readTasks } from '../helpers/store-file.js';
import { queueDir } from '../helpers/tmp.js';

// The suite turns the search for a model server off (vitest.config.ts); these tests turn it on.
const searching = { YGG_DISCOVER_MODELS: '' };

describe('ygg run and a model server on this machine', () => {
  it('runs a model task in the foreground on the server found, and says so', async () => {
    await using server = await startModelServer({ models: ['qwen2.5:7b'] });
    const dir = await queueDir(
      'run-found',
      `hosts:\n  solo: { transport: local }\ndiscover_models: ["127.0.0.1:${server.port}"]\n`,
    );
    const added = await runYgg(['add', 'write a haiku about trees'], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    const run = await runYgg(['run', added.stdout.trim()], { cwd: dir, env: searching });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      `ygg: found Ollama at ${server.url} with 1 model; solo uses it (qwen2.5:7b)`,
    );
    expect(run.stdout).toContain('Hello from the test model.');
    expect(run.stderr).toMatch(/on solo with general in \d+ ms/);
    expect(server.requests.some((r) => r.path === '/api/chat')).toBe(true);
    // The store is not changed by a run.
    const [task] = await readTasks(join(dir, '.beads', 'issues.jsonl'));
    expect(task?.status).toBe('open');
  });
});

describe('ygg add warns only for tasks that go to a model', () => {
  const modelless = 'hosts:\n  plain: { transport: local }\ndiscover_models: false\n';

  it('says nothing for a simulated task, as for a command', async () => {
    const dir = await queueDir('add-simulated', modelless);
    const simulated = await runYgg(['add', 'pretend to work', '--simulate-ms', '10'], { cwd: dir });
    expect(simulated.code).toBe(0);
    expect(simulated.stderr).toBe('queued, position 1 of 1\n');
    const titled = await runYgg(['add', 'a plain title'], { cwd: dir });
    expect(titled.stderr).toMatch(/^ygg: no host can run this general task/);
  });

  it('add --from says it once for the lines it is about, before the tasks are in', async () => {
    const dir = await queueDir('add-batch', modelless);
    const input = [
      { title: 'one' },
      { title: 'two', argv: ['echo', 'two'] },
      { title: 'three', simulate_ms: 5 },
      { title: 'four' },
    ]
      .map((line) => JSON.stringify(line))
      .join('\n');
    const batch = await runYgg(['add', '--from', '-'], { cwd: dir, input: `${input}\n` });
    expect(batch.code, batch.stderr).toBe(0);
    expect(batch.stderr.match(/no host can run/g)).toHaveLength(1);
    expect(batch.stderr).toContain(
      'ygg: lines 1, 4: no host can run this general task: its handler (general) asks a model, and plain has no model endpoint (discover_models is off',
    );
    expect(batch.stderr).toContain('added 4 tasks');
    expect(await readTasks(join(dir, '.beads', 'issues.jsonl'))).toHaveLength(4);
  });
});
