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

  it('keeps the end of a long cause in every one-line view, without the escapes and overwritten progress a program prints', async () => {
    const script = [
      'i=0; while [ $i -lt 30 ]; do printf "warning: something verbose about step %d " $i >&2; i=$((i+1)); done',
      'echo >&2',
      'printf "compiling 10%%\\rcompiling 100%%\\r\\033[31merror: the real reason\\033[0m\\n" >&2',
      'exit 1',
    ].join('; ');
    const { dir, id } = await deadLetter('failure-long', script);

    const [row] = JSON.parse((await runYgg(['dlq', '--json'], { cwd: dir })).stdout) as Array<{
      error: string;
    }>;
    // The first line fits the one-line views' 200 characters: the start of the cause gives way.
    expect(row?.error).toMatch(/^sh exited with code 1: ….*step 29 \/ error: the real reason$/);
    expect(row?.error.length).toBeLessThanOrEqual(200);
    expect(row?.error).not.toMatch(/[\u001b\r]|compiling/);

    const snapshot = JSON.parse((await runYgg(['monitor', '--json'], { cwd: dir })).stdout) as StatusSnapshot;
    expect(snapshot.deadLetters.tasks.find((d) => d.id === id)?.error).toBe(row?.error);
    // An 80-column monitor cuts the middle of a long error, keeping what failed and why.
    const frame = (await runYgg(['monitor', '--once'], { cwd: dir })).stdout.split('\n');
    const deadLine = frame.find((line) => line.includes(id) && line.includes('×1'));
    expect(deadLine).toMatch(/sh exited .*….*error: the real reason$/);
    expect(frame.every((line) => [...line].length <= 80)).toBe(true);

    // The whole output is kept as it came, colours and all, for `show` and `logs`.
    const logs = await runYgg(['logs', id], { cwd: dir });
    expect(logs.stdout).toContain('\u001b[31merror: the real reason');
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
