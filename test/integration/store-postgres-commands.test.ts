/**
 * Every command a user runs against a queue, on a PostgreSQL store (the store chosen by
 * YGG_STORE): bulk add, list, show, position, pause and resume, drain, loop, dlq, retry, cancel,
 * logs, stats, hosts, monitor. What a user sees is the same as on the file store.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { spawnLoop } from '../helpers/loop-process.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const hostsYaml = `queue:
  lease: 15s
hosts:
  surtr:
    transport: local
    slots: 2
    sandbox:
      enabled: false
`;

describe('every queue command on a PostgreSQL store', () => {
  it('adds, lists, pauses, drains, runs, dead-letters, retries, cancels and reports', {
    timeout: 180_000,
  }, async () => {
    const dir = await testDir('pg-commands');
    await writeFile(join(dir, 'hosts.yaml'), hostsYaml);
    const url = await server.newDatabase();
    const env = { YGG_STORE: url };
    const ygg = async (args: string[], ok = true) => {
      const run = await runYgg(args, { cwd: dir, env });
      if (ok) expect(run.code, `ygg ${args.join(' ')}: ${run.stderr}`).toBe(0);
      return run;
    };
    const json = async <T>(args: string[]) => JSON.parse((await ygg([...args, '--json'])).stdout) as T;

    // Bulk add: one write of three tasks.
    await writeFile(
      join(dir, 'tasks.jsonl'),
      [
        { title: 'passes', argv: ['true'], priority: 1 },
        { title: 'fails', argv: ['sh', '-c', 'echo broken >&2; exit 3'], attempts: 1 },
        { title: 'never runs', argv: ['true'], priority: 3 },
      ]
        .map((t) => JSON.stringify(t))
        .join('\n'),
    );
    const added = await json<Array<{ line: number; id: string }>>(['add', '--from', 'tasks.jsonl']);
    expect(added.map((a) => a.line)).toEqual([1, 2, 3]);
    const [passes, fails, never] = added.map((a) => a.id) as [string, string, string];

    const listed = await json<Array<{ id: string; title: string }>>(['list']);
    expect(listed.map((t) => t.id)).toEqual([passes, fails, never]);
    expect((await json<{ title: string; status: string }>(['show', never])).status).toBe('open');
    expect((await ygg(['position', never])).stdout).toMatch(/position 3 of 3/);

    // Cancel before it runs: closed as cancelled, never started.
    await ygg(['cancel', never]);
    expect((await json<{ status: string }>(['show', never])).status).toBe('closed');

    // Paused: a loop says so and starts nothing; a drained host shows as drained.
    await ygg(['pause']);
    const loop = spawnLoop(dir, [], { env });
    await waitUntil(() => loop.stderr().includes('the queue is paused'), {
      what: 'the loop saying it is paused',
    });
    expect((await json<{ status: string }>(['show', passes])).status).toBe('open');
    await ygg(['hosts', 'drain', 'surtr']);
    // Read from the database, where the drain was written (this machine's .ygg/ has no switches).
    const hosts = await json<Array<{ name: string; drained: boolean }>>(['hosts']);
    expect(hosts.find((h) => h.name === 'surtr')?.drained).toBe(true);
    await ygg(['hosts', 'drain', 'surtr', '--undo']);

    // Resumed (through the database, not a file): the loop runs the queue.
    await ygg(['resume']);
    await waitUntil(() => loop.stderr().includes('the queue was resumed'), { what: 'the loop resuming' });
    await waitUntil(
      async () =>
        (await json<{ status: string }>(['show', passes])).status === 'closed' &&
        (await json<unknown[]>(['dlq'])).length === 1,
      { what: 'the queue run', timeoutMs: 60_000 },
    );
    await loop.stop();

    const dead = await json<Array<{ id: string; error?: string }>>(['dlq']);
    expect(dead.map((d) => d.id)).toEqual([fails]);
    expect(JSON.stringify(dead[0])).toContain('broken');
    expect((await ygg(['logs', fails])).stdout).toContain('broken');

    const stats = await ygg(['stats']);
    expect(stats.stdout).toMatch(/succeeded|success/i);

    await ygg(['retry', fails]);
    expect((await json<{ status: string }>(['show', fails])).status).toBe('open');
    expect(await json<unknown[]>(['dlq'])).toEqual([]);

    const frame = await ygg(['monitor', '--once']);
    expect(frame.stdout).toContain('surtr');
    expect(frame.stdout).toContain('sh exited with code 3: broken');
    // The URL (and so any password it held) is never printed, only the redacted form.
    expect(`${frame.stdout}${stats.stdout}`).not.toContain(server.socketDir);
  });
});
