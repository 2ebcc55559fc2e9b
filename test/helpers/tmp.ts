import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/**
 * A temp directory named after the current test; removed when the test passes, kept (and its
 * path printed) when it fails, so the files can be looked at.
 */
export async function testDir(name: string): Promise<string> {
  const safe = name.replace(/[^a-zA-Z0-9_-]+/g, '-').slice(0, 60);
  const dir = await mkdtemp(join(tmpdir(), `ygg-${safe}-`));
  onTestFinished(async (ctx) => {
    if (ctx.task.result?.state === 'fail') {
      process.stderr.write(`kept test files: ${dir}\n`);
      return;
    }
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A test folder holding an empty Beads store and `hosts.yaml` with `hostsYaml`: a queue to run ygg in. */
export async function queueDir(name: string, hostsYaml: string): Promise<string> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
  await writeFile(join(dir, 'hosts.yaml'), hostsYaml);
  return dir;
}
