/**
 * README's "Using it on your own queue", run as written by a real shell in an empty folder: the
 * first example needs no model server; the model example, after the line that says what it needs,
 * works once one runs (here the test's own, where `discover_models` looks for it).
 */
import { spawn } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectOutput, repoRoot, runYgg, yggBin } from '../helpers/cli.js';
import { startModelServer } from '../helpers/model-server.js';
import { readTasks } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';

/** The `sh` blocks of the section, each with the paragraph just before it. */
async function sectionBlocks(): Promise<Array<{ before: string; code: string }>> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('## Using it on your own queue');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  const blocks: Array<{ before: string; code: string }> = [];
  const pattern = /```sh\n([\s\S]*?)```/g;
  let last = 0;
  for (let match = pattern.exec(section); match; match = pattern.exec(section)) {
    blocks.push({ before: section.slice(last, match.index), code: match[1] ?? '' });
    last = match.index + match[0].length;
  }
  return blocks;
}

/** Runs `code` in bash (`set -e`) with `ygg` meaning this checkout's CLI; resolves with what it did. */
function shell(
  code: string,
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const script = `set -euo pipefail\nygg() { "${process.execPath}" "${yggBin}" "$@"; }\n${code}`;
    const child = spawn('bash', ['-c', script], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 90_000,
    });
    const output = collectOutput(child);
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ code: status, stdout: output.stdout(), stderr: output.stderr() }),
    );
  });
}

describe("README's first task", () => {
  it('runs to closed in an empty folder with no model server; the model example works once one is there', async () => {
    const [first, second, ...rest] = await sectionBlocks();
    // The install line, then the two examples.
    expect(first?.code).toMatch(/^npm pack/);
    const firstTask = second!;
    expect(firstTask.before).toContain('(this needs no model server)');
    const dir = await testDir('readme-first');
    const ran = await shell(firstTask.code, dir);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).not.toContain('warning');
    const [hello] = await readTasks(join(dir, '.beads', 'issues.jsonl'));
    expect(hello).toMatchObject({ title: 'say hello', status: 'closed' });
    expect(ran.stdout).toContain(`${hello?.id}\tP2\tclosed\t`);
    const shown = await runYgg(['show', hello!.id], { cwd: dir });
    expect(shown.stdout).toContain('hello');

    // The model example comes after a line that says what it needs.
    const model = rest[0]!;
    expect(model.code).toContain('ygg add "summarize the meeting notes" --type summarize');
    expect(model.before).toMatch(/^Model tasks need a model server: Ollama on 127\.0\.0\.1:11434/m);
    expect(model.before).toContain('OpenAI-compatible one');
    expect(model.before).toContain('127.0.0.1:8080');
    expect(model.before).toMatch(/`model:`\s+on a host in hosts\.yaml/);
    await using server = await startModelServer({ models: ['llama3.2:latest'] });
    // A server of the test's own, where the copied hosts.yaml is told to look for one.
    await appendFile(join(dir, 'hosts.yaml'), `\ndiscover_models: ["127.0.0.1:${server.port}"]\n`);
    await writeFile(join(dir, 'notes.md'), 'We met. We agreed to ship on Friday.\n');
    // The suite turns the search off (vitest.config.ts); this part of the README is about it.
    const summarized = await shell(model.code, dir, { YGG_DISCOVER_MODELS: '' });
    expect(summarized.code, summarized.stderr).toBe(0);
    expect(summarized.stderr).toContain(`ygg: found Ollama at ${server.url} with 1 model`);
    const summary = (await readTasks(join(dir, '.beads', 'issues.jsonl'))).find(
      (t) => t.title === 'summarize the meeting notes',
    );
    expect(summary?.status).toBe('closed');
    expect(JSON.stringify(summary?.comments)).toContain('Hello from the test model.');
    const asked = server.requests.find((r) => r.path === '/api/chat');
    expect(JSON.stringify(asked?.body)).toContain('ship on Friday');
  });
});
