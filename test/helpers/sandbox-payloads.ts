/**
 * Hostile payloads and a shell-task runner shared by the sandbox isolation tests, local and
 * over SSH: each payload carries a marker so its processes can be found and waited out.
 */
import { existsSync } from 'node:fs';
import { plugin as shell } from '../../plugins/shell.js';
import type { ExecOptions, Transport } from '../../src/hosts/transport.js';
import type { HandlerContext } from '../../src/plugins/api.js';
import type { Task } from '../../src/store/task.js';

/** Runs a task's argv through the real shell handler, its ctx.exec going to `transport`. */
export async function runShellTask(
  transport: Transport,
  argv: string[],
  options: Partial<ExecOptions> = {},
): Promise<{ ok: true; summary: string } | { ok: false; error: string }> {
  const task: Task = { id: 'ygg-test', title: 'hostile', metadata: { ygg: { argv } } };
  const controller = new AbortController();
  const ctx = {
    signal: controller.signal,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    attempt: 1,
    type: 'shell',
    host: { name: transport.hostName },
    artifactsDir: '/nonexistent',
    progress() {},
    heartbeat() {},
    exec: (a: readonly string[], o?: ExecOptions) =>
      transport.exec(a, { ...o, ...options, sandbox: options.sandbox ?? o?.sandbox ?? true }),
  } as unknown as HandlerContext;
  try {
    const result = await shell.run(task, ctx);
    return { ok: true, summary: typeof result === 'string' ? result : String(result?.summary) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** A fork bomb that keeps its main process alive (it ends at the wall clock). */
export const forkBomb = (marker: string) => [
  'sh',
  '-c',
  `${marker}(){ ${marker} | ${marker} & }; echo started; ${marker}; sleep 60`,
];

/** The classic bash fork bomb, whose main process exits 0 at once while its children fork on. */
export const classicForkBomb = ['bash', '-c', ':(){ :|:& };:'];

/** Forks 30 short processes one after another and says so: harmless, unless forks fail. */
export const innocent = [
  'sh',
  '-c',
  'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do /bin/true || exit 3; done; echo fine',
];

/** Three files of 15 MB each in the work directory. */
export const threeFiles = [
  'sh',
  '-c',
  'for i in 1 2 3; do head -c 15000000 /dev/zero > "f$i" || exit 1; done; echo wrote all',
];

/** Whether the per-command cgroup folder for the work directory `workdir` still exists. */
export function cgroupLeft(workdir: string): boolean {
  const runId = workdir.split('/').pop() ?? '';
  return ['pids', 'memory', 'cpu'].some((c) => existsSync(`/sys/fs/cgroup/${c}/ygg/${runId}`));
}
