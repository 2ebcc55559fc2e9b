import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { type ModelServer, startModelServer } from '../helpers/model-server.js';
import { testDir } from '../helpers/tmp.js';

let server: ModelServer;
afterEach(async () => {
  await server?.close();
});

async function workspace(name: string, yaml: string): Promise<{ dir: string; store: string }> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  const store = join(dir, '.beads', 'issues.jsonl');
  const task = {
    id: 'bd-r1',
    title: 'code: hello module',
    description: 'Print hello.',
    status: 'open',
    priority: 2,
    issue_type: 'task',
    created_at: '2025-05-01T10:00:00Z',
    updated_at: '2025-05-01T10:00:00Z',
    labels: ['code-generation'],
  };
  await writeFile(store, `${JSON.stringify(task)}\n`);
  await writeFile(join(dir, 'hosts.yaml'), yaml);
  return { dir, store };
}

describe('ygg run', () => {
  it('runs one task in the foreground, printing the stream, leaving the store as it was', async () => {
    server = await startModelServer({ models: ['qwen2.5-coder:7b', 'phi3:mini'] });
    server.enqueue({ tokens: ['```python hello.py\n', "print('hello')\n", '```\n', 'Done.'] });
    const { dir, store } = await workspace(
      'ygg run',
      `hosts:\n  surtr:\n    transport: local\n    model: { api: ollama, url: "${server.url}", model: "qwen2.5-coder:7b" }\n`,
    );
    const before = await readFile(store, 'utf8');
    const run = await runYgg(['run', 'bd-r1', '--config', 'hosts.yaml', '--model', 'phi3:mini'], {
      cwd: dir,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("```python hello.py\nprint('hello')\n```\nDone.");
    expect(run.stderr).toContain('· asking phi3:mini on surtr');
    expect(run.stderr).toContain('✓ bd-r1 (code-generation) on surtr with code-generation');
    expect(run.stderr).toContain('- hello.py');
    expect((server.requests[0]!.body as { model: string }).model).toBe('phi3:mini');
    expect(await readFile(store, 'utf8')).toBe(before);
  });

  it('fails with exit 1 and names the key to set on a host without an endpoint', async () => {
    const { dir } = await workspace('ygg run no endpoint', 'hosts:\n  skadi:\n    transport: local\n');
    const run = await runYgg(['run', 'bd-r1', '--config', 'hosts.yaml'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('hosts.skadi.model');
    expect(run.stderr).toContain('(not retryable)');
  });
  it('takes the first eligible host that serves the model a task asks for', async () => {
    server = await startModelServer({ models: ['qwen2.5-coder:7b'] });
    const other = await startModelServer({ models: ['phi3:mini'] });
    try {
      other.enqueue({ tokens: ['from fenrir'] });
      const { dir, store } = await workspace(
        'ygg run model label',
        `hosts:
  surtr:
    transport: local
    model: { api: ollama, url: "${server.url}", model: "qwen2.5-coder:7b" }
  fenrir:
    transport: local
    model: { api: ollama, url: "${other.url}", model: "phi3:mini" }
types:
  code-generation: { hosts: [surtr, fenrir] }
`,
      );
      const line = JSON.parse((await readFile(store, 'utf8')).trim()) as { labels: string[] };
      line.labels.push('model:phi3:mini');
      await writeFile(store, `${JSON.stringify(line)}\n`);
      const run = await runYgg(['run', 'bd-r1', '--config', 'hosts.yaml'], { cwd: dir });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('from fenrir');
      expect(run.stderr).toContain('on fenrir');

      line.labels = ['code-generation', 'model:llama-nowhere'];
      await writeFile(store, `${JSON.stringify(line)}\n`);
      const none = await runYgg(['run', 'bd-r1', '--config', 'hosts.yaml'], { cwd: dir });
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/no host eligible for type "code-generation" serves model llama-nowhere/);
    } finally {
      await other.close();
    }
  });
});
