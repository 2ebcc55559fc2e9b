import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/observe/snapshot.js';
import { runYgg } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

// One attempt, so the failing command is dead-lettered at once.
const hostsYaml = `
hosts:
  surtr: { transport: local, slots: 2 }
types:
  general: { attempts: 1 }
queue:
  poll_interval: 500ms
`;

async function deadLetter(name: string, script: string): Promise<{ dir: string; id: string }> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
  await writeFile(join(dir, 'hosts.yaml'), hostsYaml);
  const added = await runYgg(['add', 'fails loudly', '--handler', 'shell', '--', 'sh', '-c', script], {
    cwd: dir,
  });
  expect(added.code, added.stderr).toBe(0);
  const run = await runYgg(['loop', '--until-idle'], { cwd: dir, timeoutMs: 90_000 });
  expect(run.stderr).not.toMatch(/\n\s+at /);
  return { dir, id: added.stdout.trim() };
}

describe('a failed command says its cause first', () => {
  it('shows the exit code and the last lines of stderr on the first line everywhere, the protections on a line of their own', async () => {
    const { dir, id } = await deadLetter('failure-cause', 'echo warming up >&2; echo boom >&2; exit 1');
    const cause = /^sh exited with code 1: warming up \/ boom$/;

    const dlq = await runYgg(['dlq', '--json'], { cwd: dir });
    const [row] = JSON.parse(dlq.stdout) as Array<{ id: string; error: string }>;
    expect(row?.id).toBe(id);
    expect(row?.error).toMatch(cause);
    const dlqText = await runYgg(['dlq'], { cwd: dir });
    expect(dlqText.stdout).toContain('sh exited with code 1: warming up / boom');
    expect(dlqText.stdout).not.toContain('protections');

    // The monitor and the web view read the same snapshot: its dead letters lead with the cause.
    const snapshot = await runYgg(['monitor', '--json'], { cwd: dir });
    const dead = (JSON.parse(snapshot.stdout) as StatusSnapshot).deadLetters.tasks;
    expect(dead.find((d) => d.id === id)?.error).toMatch(cause);
    const frame = await runYgg(['monitor', '--once'], { cwd: dir });
    expect(frame.stdout).toContain('sh exited with code 1: warming up / boom');

    // The whole message keeps the protections, on their own line, and the output below.
    const logs = await runYgg(['logs', id], { cwd: dir });
    expect(logs.stdout).toMatch(
      /sh exited with code 1: warming up \/ boom\nprotections: [^\n]*wall-clock limit/,
    );
    const shown = await runYgg(['show', id, '--json'], { cwd: dir });
    const task = JSON.parse(shown.stdout) as { comments: Array<{ text: string }> };
    const comment = task.comments.at(-1)?.text ?? '';
    expect(comment).toMatch(/\nsh exited with code 1: warming up \/ boom\nprotections: .*\n/);
    expect(comment).toContain('--- stderr ---\nwarming up\nboom');
  });

  it('quotes stdout when the command wrote nothing to stderr, and says just the exit when it wrote nothing at all', async () => {
    const loud = await deadLetter('failure-stdout', 'echo 3 tests failed; exit 2');
    const loudRows = JSON.parse((await runYgg(['dlq', '--json'], { cwd: loud.dir })).stdout) as Array<{
      error: string;
    }>;
    expect(loudRows[0]?.error).toBe('sh exited with code 2: 3 tests failed');

    const quiet = await deadLetter('failure-quiet', 'exit 3');
    const quietRows = JSON.parse((await runYgg(['dlq', '--json'], { cwd: quiet.dir })).stdout) as Array<{
      error: string;
    }>;
    expect(quietRows[0]?.error).toBe('sh exited with code 3');
  });
});
