/**
 * A loop killed with kill -9 leaves its attempt's commands running on the host (their process
 * group outlives the loop; over SSH, the session's command outlives the connection). The loop
 * that takes the task over ends them first: never two attempts of one task at once.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { yggOf } from '../../src/store/task.js';
import { runYgg } from '../helpers/cli.js';
import { spawnLoop } from '../helpers/loop-process.js';
import { processesMatching, startSshd } from '../helpers/sshd.js';
import { readTasks, waitForTasks } from '../helpers/store-file.js';
import { queueDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * The first attempt (lease token 1) sleeps; any later one says whether that sleep still runs.
 * The seconds come as an argument, so no command line but the sleep's reads `sleep SECONDS`.
 */
const command = (seconds: string) => [
  'sh',
  '-c',
  `case "$YGG_ATTEMPT" in */1) exec sleep "$1";; esac
if pgrep -f "sleep $1" >/dev/null; then echo "earlier attempt still running"; else echo "alone"; fi`,
  'sh',
  seconds,
];

/** A sleep no other run of this file has; whatever of it is left when the test ends is killed. */
function uniqueSeconds(): string {
  const seconds = `4747.${process.pid}${Math.floor(Math.random() * 1e6)}`;
  onTestFinished(() => {
    for (const { pid } of processesMatching(`sleep ${seconds}`)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  return seconds;
}

const hostsYaml = (sandbox: boolean) => `queue:
  lease: 2s
hosts:
  alpha:
    transport: local
    slots: 1
    sandbox:
      enabled: ${sandbox}
`;

async function takeOver(name: string) {
  const seconds = uniqueSeconds();
  const dir = await queueDir(name, hostsYaml(false));
  const store = join(dir, '.beads', 'issues.jsonl');
  const added = await runYgg(['add', 'outlives its loop', '--', ...command(seconds)], { cwd: dir });
  expect(added.code, added.stderr).toBe(0);
  const id = added.stdout.trim();

  const first = spawnLoop(dir);
  await waitUntil(() => processesMatching(`sleep ${seconds}`).length > 0, {
    what: 'the first attempt sleeping',
    timeoutMs: 60_000,
  });
  first.child.kill('SIGKILL');
  await first.exited;
  // What the issue is about: the attempt's command outlived its loop.
  expect(processesMatching(`sleep ${seconds}`)).not.toHaveLength(0);

  const second = spawnLoop(dir);
  const ended = await second.logged((l) => l.event === 'task:earlier-ended', 60_000);
  await waitForTasks(store, (tasks) => tasks.find((t) => t.id === id)?.status === 'closed', 60_000);
  await second.stop();
  const [task] = (await readTasks(store)).filter((t) => t.id === id);
  return { task: task!, ended, seconds };
}

describe('a task taken over from a killed loop', () => {
  it('ends the earlier attempt left running on the host before it runs again (sandbox off)', {
    timeout: 180_000,
  }, async () => {
    const { task, ended, seconds } = await takeOver('earlier-attempt-plain');
    expect(processesMatching(`sleep ${seconds}`)).toEqual([]);
    expect(ended).toMatchObject({ host: 'alpha', attempt: 1, processes: 1 });
    // The second attempt looked for the first one's sleep when it started: gone already.
    expect(task.comments?.at(-1)?.text).toContain('alone');
    const history = yggOf(task).history ?? [];
    expect(history.map((h) => h.outcome)).toEqual(['lost', 'succeeded']);
    expect(yggOf(task).unended).toBeUndefined();
  });

  it('a sandboxed command on this machine ends with its loop; the next attempt finds nothing to end', {
    timeout: 180_000,
  }, async () => {
    const seconds = uniqueSeconds();
    const dir = await queueDir('earlier-attempt-sandboxed', hostsYaml(true));
    const store = join(dir, '.beads', 'issues.jsonl');
    const added = await runYgg(['add', 'ends with its loop', '--', ...command(seconds)], { cwd: dir });
    const id = added.stdout.trim();
    const first = spawnLoop(dir);
    await waitUntil(() => processesMatching(`sleep ${seconds}`).length > 0, {
      what: 'the first attempt sleeping',
      timeoutMs: 60_000,
    });
    first.child.kill('SIGKILL');
    await first.exited;
    // bubblewrap runs it with --die-with-parent: the loop's death ends it.
    await waitUntil(() => processesMatching(`sleep ${seconds}`).length === 0, { what: 'the sandbox ending' });
    const second = spawnLoop(dir);
    await waitForTasks(store, (tasks) => tasks.find((t) => t.id === id)?.status === 'closed', 60_000);
    await second.stop();
    const [task] = (await readTasks(store)).filter((t) => t.id === id);
    expect(yggOf(task!).history?.map((h) => h.outcome)).toEqual(['lost', 'succeeded']);
    expect(yggOf(task!).unended).toBeUndefined();
    expect(second.lines().filter((l) => l.event === 'task:earlier-ended')).toEqual([]);
  });
});

describe('a task whose earlier attempt is on a host that cannot be reached', () => {
  it('waits, runs nowhere else meanwhile, and ends that attempt once the host is back', {
    timeout: 240_000,
  }, async () => {
    const dir = await queueDir('earlier-attempt-ssh', '');
    // sshd's user reads its keys below here, and the sandbox's user its work folder.
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'surtr'));
    const sshd = await startSshd(join(dir, 'surtr'));
    onTestFinished(() => sshd.stop());
    const surtr = `  surtr:
    transport: ssh
    address: 127.0.0.1
    port: ${sshd.port}
    user: yggtest
    key: ${sshd.clientKeyFile}
    known_hosts: ${sshd.knownHostsFile}
    slots: 1
    probe_interval: 200ms
    probe_failures: 2
    sandbox:
      work_root: ${sshd.dir}/work
`;
    const alpha = '  alpha:\n    transport: local\n    slots: 1\n    sandbox:\n      enabled: false\n';
    await writeFile(join(dir, 'surtr-only.yaml'), `queue:\n  lease: 2s\nhosts:\n${surtr}`);
    await writeFile(join(dir, 'hosts.yaml'), `queue:\n  lease: 2s\nhosts:\n${surtr}${alpha}`);
    const store = join(dir, '.beads', 'issues.jsonl');
    const seconds = uniqueSeconds();
    const added = await runYgg(['add', 'outlives its loop', '--', ...command(seconds)], { cwd: dir });
    expect(added.code, added.stderr).toBe(0);
    const id = added.stdout.trim();

    const first = spawnLoop(dir, ['--config', join(dir, 'surtr-only.yaml')]);
    await waitUntil(() => processesMatching(`sleep ${seconds}`).length > 0, {
      what: 'the first attempt sleeping on surtr',
      timeoutMs: 60_000,
    });
    first.child.kill('SIGKILL');
    await first.exited;
    expect(processesMatching(`sleep ${seconds}`)).not.toHaveLength(0);
    // surtr goes away (its listener; the orphaned command goes on running there).
    process.kill(sshd.pid!, 'SIGKILL');
    await waitUntil(() => sshd.pid === undefined, { what: 'sshd gone' });

    const second = spawnLoop(dir);
    const waiting = await second.logged((l) => l.event === 'task:earlier-waiting', 60_000);
    expect(waiting).toMatchObject({ host: 'surtr', attempt: 1 });
    expect(String(waiting.err_msg)).toMatch(/waiting for attempt 1 on surtr to end: surtr is unreachable/);
    // Tried again later, still waiting: meanwhile it ran nowhere, alpha included.
    await second.logged((l) => l.event === 'task:earlier-waiting' && l !== waiting, 60_000);
    expect(second.lines().filter((l) => l.event === 'task:started' && l.task_id === id)).toEqual([]);
    expect(processesMatching(`sleep ${seconds}`)).not.toHaveLength(0);

    await sshd.start();
    await second.logged((l) => l.event === 'task:earlier-ended', 60_000);
    await waitForTasks(store, (tasks) => tasks.find((t) => t.id === id)?.status === 'closed', 60_000);
    await second.stop();
    expect(processesMatching(`sleep ${seconds}`)).toEqual([]);
    const [task] = (await readTasks(store)).filter((t) => t.id === id);
    expect(task?.comments?.at(-1)?.text).toContain('alone');
    expect(yggOf(task!).unended).toBeUndefined();
  });
});
