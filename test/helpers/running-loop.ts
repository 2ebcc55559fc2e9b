/**
 * A real `ygg loop` in a temp workspace for end-to-end tests of what users watch: local hosts,
 * tasks written straight into the Beads file, the status URL read from the loop's own output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { yggBin } from './cli.js';
import { testDir } from './tmp.js';

export const localHostsYaml = `
hosts:
  surtr: { transport: local, slots: 2 }
  fenrir: { transport: local, slots: 1 }
queue:
  poll_interval: 500ms
  shutdown_grace: 2s
defaults:
  attempts: 1
`;

export interface Workspace {
  dir: string;
  store: string;
  add(id: string, title: string, ygg: Record<string, unknown>): Promise<void>;
}

export async function workspace(name: string, yaml = localHostsYaml): Promise<Workspace> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  const store = join(dir, '.beads', 'issues.jsonl');
  await writeFile(store, '');
  await writeFile(join(dir, 'hosts.yaml'), yaml);
  return {
    dir,
    store,
    async add(id, title, ygg) {
      const now = new Date().toISOString();
      const line = {
        id,
        title,
        status: 'open',
        priority: 2,
        issue_type: 'task',
        created_at: now,
        updated_at: now,
        metadata: { ygg },
      };
      await appendFile(store, `${JSON.stringify(line)}\n`);
    },
  };
}

export interface RunningLoop {
  child: ChildProcess;
  /** The URL the loop printed for the browser (with the token). */
  browserUrl: string;
  /** Its log so far (stdout). */
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `ygg loop --status-port 0` and resolves once it printed its status URL. */
export async function startLoop(
  dir: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<RunningLoop> {
  const child = spawn(process.execPath, [yggBin, 'loop', '--status-port', '0', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  let stderr = '';
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  onTestFinished(stop);
  const browserUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`loop printed no status URL:\n${stderr}`)), 30_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const match = /status and web view at (\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`loop exited ${code} before printing its status URL:\n${stderr}`));
    });
  });
  return { child, browserUrl, stdout: () => stdout, stderr: () => stderr, stop };
}
