import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { startModelServer } from '../helpers/model-server.js';
import { readTasks } from '../helpers/store-file.js';
import { queueDir, testDir } from '../helpers/tmp.js';

// The suite turns the search for a model server off (vitest.config.ts); these tests turn it on.
const searching = { YGG_DISCOVER_MODELS: '' };

interface Step {
  step: string;
  status: string;
  detail: string;
}
type Diagnosis = Array<{ host: string; steps: Step[]; ok: boolean }>;

/** One local host and a summarize type on it, the search pointed at `discover`. */
const yamlWith = (discover: string) => `
hosts:
  fenrir: { transport: local, slots: 2 }
types:
  summarize: { hosts: [fenrir], attempts: 1 }
discover_models: ${discover}
queue: { poll_interval: 500ms, shutdown_grace: 2s }
`;

async function typeStep(dir: string, type: string): Promise<{ code: number | null; step: Step | undefined }> {
  const doctor = await runYgg(['doctor', '--json'], { cwd: dir, env: searching, timeoutMs: 90_000 });
  const types = (JSON.parse(doctor.stdout) as Diagnosis).find((d) => d.host === 'types');
  return { code: doctor.code, step: types?.steps.find((s) => s.step === type) };
}

/** A web server that answers every request with a page: not a model server. */
async function startPageServer(): Promise<{ address: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>hello</body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('a first task that works', () => {
  it("runs the README's first task in an empty folder, with no model server and no warning", async () => {
    const dir = await testDir('first-task-readme');
    expect((await runYgg(['init'], { cwd: dir })).code).toBe(0);
    const added = await runYgg(['add', 'say hello', '--', 'echo', 'hello'], { cwd: dir, env: searching });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).not.toMatch(/no host can run/);
    const run = await runYgg(['loop', '--until-idle', '--no-status'], {
      cwd: dir,
      env: searching,
      timeoutMs: 90_000,
    });
    expect(run.code, run.stderr).toBe(0);
    const [task] = await readTasks(join(dir, '.beads', 'issues.jsonl'));
    expect(task?.status).toBe('closed');
  });

  it('finds a model server on this machine that proves itself, says so, and runs a model task on it', async () => {
    await using server = await startModelServer({ models: ['qwen2.5:7b'] });
    const dir = await queueDir('first-task-found', yamlWith(`["127.0.0.1:${server.port}"]`));
    const { code, step } = await typeStep(dir, 'summarize');
    expect(code).toBe(0);
    expect(step).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('runs on fenrir (qwen2.5:7b)'),
    });
    // What doctor saw is kept for ygg add, which asks no network itself.
    const seen = JSON.parse(readFileSync(join(dir, '.ygg', 'models.json'), 'utf8'));
    expect(seen.hosts.fenrir).toEqual({ model: 'qwen2.5:7b', listed: ['qwen2.5:7b'] });

    const added = await runYgg(['add', 'summarize the notes', '--type', 'summarize'], {
      cwd: dir,
      env: searching,
    });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).not.toMatch(/no host can run/);
    const asksMissing = await runYgg(
      ['add', 'needs a big one', '--type', 'summarize', '--label', 'model:llama3:70b'],
      {
        cwd: dir,
        env: searching,
      },
    );
    expect(asksMissing.stderr).toMatch(/no host lists the model llama3:70b/);

    const run = await runYgg(['loop', '--until-idle', '--no-status'], {
      cwd: dir,
      env: searching,
      timeoutMs: 90_000,
    });
    expect(run.stderr).toMatch(
      /found Ollama at http:\/\/127\.0\.0\.1:\d+ with 1 model; fenrir uses it \(qwen2\.5:7b\)/,
    );
    const tasks = await readTasks(join(dir, '.beads', 'issues.jsonl'));
    expect(tasks.find((t) => t.title === 'summarize the notes')?.status).toBe('closed');
    expect(server.requests.some((r) => r.api === 'ollama')).toBe(true);
  });

  it('takes a server that answers but is no model API for nothing: doctor fails the model type, add warns before writing', async () => {
    const page = await startPageServer();
    try {
      const dir = await queueDir('first-task-page', yamlWith(`["${page.address}"]`));
      const { code, step } = await typeStep(dir, 'summarize');
      expect(code).toBe(1);
      expect(step).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(
          /asks a model, and fenrir has no model endpoint \(no model server answered on 127\.0\.0\.1:\d+\)/,
        ),
      });
      const added = await runYgg(['add', 'summarize the notes', '--type', 'summarize'], {
        cwd: dir,
        env: searching,
      });
      expect(added.code).toBe(0);
      expect(added.stderr).toMatch(
        /ygg: no host can run this summarize task: its handler \(summarize\) asks a model, and fenrir has no model endpoint/,
      );
      // The warning is not a refusal: the task is in the queue.
      expect((await readTasks(join(dir, '.beads', 'issues.jsonl'))).map((t) => t.title)).toEqual([
        'summarize the notes',
      ]);
      // A command needs no model: no warning.
      const command = await runYgg(['add', 'a command', '--', 'true'], { cwd: dir, env: searching });
      expect(command.stderr).not.toMatch(/no host can run/);
    } finally {
      await page.close();
    }
  });

  it('warns for a model no configured endpoint lists, from the list doctor read', async () => {
    await using server = await startModelServer({ models: ['qwen2.5:7b', 'llama3:8b'] });
    const dir = await queueDir(
      'first-task-catalog',
      `hosts:\n  surtr: { transport: local, model: { api: ollama, url: '${server.url}', model: qwen2.5:7b } }\ndiscover_models: false\n`,
    );
    expect((await runYgg(['doctor'], { cwd: dir, timeoutMs: 90_000 })).stdout).toContain('serves 2 models');
    const listed = await runYgg(['add', 'a small one', '--label', 'model:llama3:8b'], { cwd: dir });
    expect(listed.stderr).not.toMatch(/no host lists/);
    const missing = await runYgg(['add', 'a big one', '--label', 'model:llama3:70b'], { cwd: dir });
    expect(missing.code).toBe(0);
    expect(missing.stderr).toMatch(
      /ygg: no host lists the model llama3:70b this task asks for \(surtr serves qwen2\.5:7b\)/,
    );
  });

  it('does not look when hosts.yaml says discover_models: false, even with a model server answering', async () => {
    await using server = await startModelServer({ models: ['qwen2.5:7b'] });
    const dir = await queueDir('first-task-off', yamlWith('false'));
    const { code, step } = await typeStep(dir, 'summarize');
    expect(code).toBe(1);
    expect(step?.detail).toContain('discover_models is off');
    expect(server.requests).toEqual([]);
    expect(existsSync(join(dir, '.ygg', 'models.json'))).toBe(true);
  });

  it('fails the shipped config in doctor for its model types when nothing serves a model here', async () => {
    const dir = await testDir('first-task-shipped');
    expect((await runYgg(['init'], { cwd: dir })).code).toBe(0);
    // The shipped hosts look on 11434 and 8080; this test cannot know what runs there, so it
    // points them at a port nothing listens on (the key's other form).
    const shipped = readFileSync(join(dir, 'hosts.yaml'), 'utf8');
    await writeFile(join(dir, 'hosts.yaml'), `${shipped}\ndiscover_models: ["127.0.0.1:9"]\n`);
    const { code, step } = await typeStep(dir, 'summarize');
    expect(code).toBe(1);
    expect(step).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('fenrir-chat has no model endpoint'),
    });
    const plain = await runYgg(['add', 'a plain title'], { cwd: dir, env: searching });
    expect(plain.stderr).toMatch(/no host can run this general task/);
    expect(plain.stderr).toMatch(/or give the task a command \(ygg add TITLE -- COMMAND\)/);
  });
});
