import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { yggOf } from '../../src/store/task.js';
import { runYgg, yggBin } from '../helpers/cli.js';
import { readTasks, waitForTasks } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const hostsYaml = (lease = '2s') => `
hosts:
  surtr: { transport: local, slots: 2 }
  fenrir: { transport: local, slots: 3 }
  skadi: { transport: local, slots: 2 }
queue:
  lease: ${lease}
  poll_interval: 500ms
  shutdown_grace: 20s
`;

async function workspace(name: string, yaml = hostsYaml()): Promise<{ dir: string; store: string }> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
  await writeFile(join(dir, 'hosts.yaml'), yaml);
  return { dir, store: join(dir, '.beads', 'issues.jsonl') };
}

interface LoopProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: string | null; stderr: string }>;
  /** Resolves once the loop has written something matching `pattern` to stderr. */
  said(pattern: RegExp): Promise<void>;
}

function startLoop(dir: string, args: string[] = []): LoopProcess {
  const child = spawn(process.execPath, [yggBin, 'loop', ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const listener of listeners) listener();
  });
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  const said = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`loop never said ${pattern}; stderr:\n${stderr}`)),
        30_000,
      );
      const check = () => {
        if (!pattern.test(stderr)) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve();
      };
      listeners.add(check);
      check();
    });
  return { child, exited, said };
}

async function addSimulated(dir: string, count: number, ms: (i: number) => number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    // Through the real CLI, then the simulated time set in metadata by the handler flag.
    const added = await runYgg(['add', `job ${i}`, '--handler', 'simulate', '--simulate-ms', String(ms(i))], {
      cwd: dir,
    });
    expect(added.code, added.stderr).toBe(0);
    ids.push(added.stdout.trim());
  }
  return ids;
}

describe('ygg loop as a process', () => {
  it('runs every task to the end with --until-idle, telling progress against a steady total, and exits 0', async () => {
    const { dir, store } = await workspace('until-idle');
    // More tasks than the 7 slots, of different lengths: claims and finishes overlap.
    const ids = await addSimulated(dir, 10, (i) => 40 + (i % 4) * 30);
    const run = await runYgg(['loop', '--until-idle'], { cwd: dir, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const tasks = await readTasks(store);
    expect(ids.map((id) => tasks.find((t) => t.id === id)?.status)).toEqual(Array(10).fill('closed'));
    // Not a terminal: a plain line per finished task, each against the same total.
    const progress = [...run.stderr.matchAll(/^progress: (\d+)\/(\d+) /gm)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    expect(progress.map(([, total]) => total)).toEqual(Array(progress.length).fill(10));
    expect(progress.map(([done]) => done)).toEqual(Array.from({ length: progress.length }, (_, i) => i + 1));
    expect(progress.at(-1)).toEqual([10, 10]);
  });

  it('takes --concurrency and runs every task to the end; refuses 0 naming the flag', async () => {
    const { dir, store } = await workspace('concurrency');
    const ids = await addSimulated(dir, 4, () => 30);
    const run = await runYgg(['loop', '--until-idle', '--concurrency', '1'], { cwd: dir, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const tasks = await readTasks(store);
    // (One at a time is checked on the loop itself, with handlers the test holds: loop-concurrency.test.ts.)
    expect(ids.map((id) => tasks.find((t) => t.id === id)?.status)).toEqual(Array(4).fill('closed'));
    const refused = await runYgg(['loop', '--concurrency', '0'], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("option '--concurrency <n>' argument '0' is invalid");
  });

  it('on SIGTERM stops claiming, lets the running task finish, and exits 0', async () => {
    const { dir, store } = await workspace('graceful');
    const [id] = await addSimulated(dir, 1, () => 3000);
    const loop = startLoop(dir);
    await waitForTasks(store, (ts) => ts.some((t) => t.id === id && t.status === 'in_progress'));
    loop.child.kill('SIGTERM');
    await loop.said(/no new tasks/);
    const [late] = await addSimulated(dir, 1, () => 10);
    const exit = await loop.exited;
    expect(exit.code, exit.stderr).toBe(0);
    const tasks = await readTasks(store);
    expect(tasks.find((t) => t.id === id)?.status, exit.stderr).toBe('closed');
    // The task added after the signal was not claimed.
    expect(tasks.find((t) => t.id === late)?.status).toBe('open');
  });

  it('on a second signal aborts running tasks, reopens them, and exits 143', async () => {
    const { dir, store } = await workspace('forced');
    const [id] = await addSimulated(dir, 1, () => 60_000);
    const loop = startLoop(dir);
    await waitForTasks(store, (ts) => ts.some((t) => t.id === id && t.status === 'in_progress'));
    loop.child.kill('SIGTERM');
    await loop.said(/no new tasks/);
    loop.child.kill('SIGTERM');
    const exit = await loop.exited;
    expect(exit.code, exit.stderr).toBe(143);
    expect(exit.stderr).toMatch(/running tasks were aborted .* and reopened to run again later/);
    const task = (await readTasks(store)).find((t) => t.id === id)!;
    expect(task.status).toBe('open');
    expect(task.assignee).toBeUndefined();
  });

  it('when the grace period runs out, aborts running tasks, says so and exits 143', async () => {
    const { dir, store } = await workspace('grace-over');
    const [id] = await addSimulated(dir, 1, () => 60_000);
    const loop = startLoop(dir, ['--grace', '300ms']);
    await waitForTasks(store, (ts) => ts.some((t) => t.id === id && t.status === 'in_progress'));
    loop.child.kill('SIGTERM');
    const exit = await loop.exited;
    expect(exit.code, exit.stderr).toBe(143);
    expect(exit.stderr).toMatch(/the grace period ran out\) and reopened/);
    expect((await readTasks(store)).find((t) => t.id === id)?.status).toBe('open');
  });

  it('survives kill -9 at random moments: every task closed exactly once, none stuck', async () => {
    const { dir, store } = await workspace('kill9');
    const ids = await addSimulated(dir, 24, (i) => 80 + (i % 5) * 40);
    for (let round = 0; round < 5; round += 1) {
      const loop = startLoop(dir);
      // Let it get some work under way, then kill it without warning.
      await waitForTasks(
        store,
        (ts) =>
          ts.filter((t) => t.status === 'in_progress').length > 0 || ts.every((t) => t.status === 'closed'),
      );
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 250)));
      loop.child.kill('SIGKILL');
      await loop.exited;
    }
    const finish = await runYgg(['loop', '--until-idle'], { cwd: dir, timeoutMs: 120_000 });
    expect(finish.code, finish.stderr).toBe(0);
    const tasks = await readTasks(store);
    for (const id of ids) {
      const task = tasks.find((t) => t.id === id)!;
      expect(task.status, id).toBe('closed');
      const successes = (task.comments ?? []).filter((c) => c.text.startsWith('simulated'));
      expect(successes, id).toHaveLength(1);
      const history = yggOf(task).history ?? [];
      expect(
        history.filter((h) => h.outcome === 'succeeded'),
        id,
      ).toHaveLength(1);
    }
    expect(tasks.some((t) => t.status === 'in_progress')).toBe(false);
  }, 180_000); // five loop processes killed and restarted: minutes on a loaded 2-core machine

  it('cancels a running task with ygg cancel within a second, leaving it closed as cancelled', async () => {
    const { dir, store } = await workspace('cancel');
    const [id] = await addSimulated(dir, 1, () => 60_000);
    const loop = startLoop(dir);
    await waitForTasks(store, (ts) => ts.some((t) => t.id === id && t.status === 'in_progress'));
    const cancel = await runYgg(['cancel', id!], { cwd: dir });
    expect(cancel.code, cancel.stderr).toBe(0);
    const t0 = Date.now();
    const tasks = await waitForTasks(store, (ts) => {
      const t = ts.find((x) => x.id === id);
      return !!t && (yggOf(t).history ?? []).some((h) => h.outcome === 'cancelled');
    });
    expect(Date.now() - t0).toBeLessThan(5_000);
    const task = tasks.find((t) => t.id === id)!;
    expect(task.status).toBe('closed');
    expect(task.close_reason).toBe('cancelled');
    loop.child.kill('SIGTERM');
    expect((await loop.exited).code).toBe(0);
  });

  it('lists dead letters and sends one back with ygg retry', async () => {
    const yaml = `${hostsYaml()}types:\n  general: { attempts: 2, backoff: { base: 10ms, max: 20ms } }\n`;
    const { dir, store } = await workspace('dlq', yaml);
    const added = await runYgg(['add', 'always fails', '--handler', 'shell', '--', 'false'], { cwd: dir });
    const id = added.stdout.trim();
    const run = await runYgg(['loop', '--until-idle'], { cwd: dir, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const dlq = await runYgg(['dlq', '--json'], { cwd: dir });
    const rows = JSON.parse(dlq.stdout) as Array<{ id: string; attempts: number; error: string }>;
    expect(rows.map((r) => r.id)).toEqual([id]);
    expect(rows[0]!.attempts).toBe(2);
    expect(rows[0]!.error).toMatch(/false exited with code 1/);
    const retry = await runYgg(['retry', id], { cwd: dir });
    expect(retry.code, retry.stderr).toBe(0);
    const task = (await readTasks(store)).find((t) => t.id === id)!;
    expect(task.status).toBe('open');
    expect(yggOf(task).dead).toBeUndefined();
    expect(JSON.parse((await runYgg(['dlq', '--json'], { cwd: dir })).stdout)).toEqual([]);
  });

  it('ygg hosts drain keeps new tasks off a host until --undo; list --ready says why tasks wait', async () => {
    const { dir, store } = await workspace(
      'drain',
      `${hostsYaml()}
type_rules:
  - { type: orphan, labels: [orphan] }
types:
  general: { hosts: [skadi] }
  orphan: { hosts: [] }
`,
    );
    const drained = await runYgg(['hosts', 'drain', 'skadi'], { cwd: dir });
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toContain('drained hosts: skadi');
    expect((await runYgg(['hosts', 'drain', 'nosuch'], { cwd: dir })).stderr).toMatch(/no host named nosuch/);
    const [id = ''] = await addSimulated(dir, 1, () => 20);
    const orphan = (
      await runYgg(['add', 'nowhere to go', '--label', 'orphan', '--handler', 'simulate'], { cwd: dir })
    ).stdout.trim();

    // Without a loop running, the reasons come from hosts.yaml and the operator switches, in the
    // words a loop's admission uses.
    const listed = await runYgg(['list', '--ready', '--json'], { cwd: dir });
    const why = new Map(
      (JSON.parse(listed.stdout) as Array<{ id: string; waiting?: string }>).map((t) => [t.id, t.waiting]),
    );
    expect(why.get(id)).toMatch(/skadi draining/);
    expect(why.get(orphan)).toMatch(/^no host is eligible for type "orphan"/);

    // A running loop leaves the drained host alone, and tells the same through its status server.
    const loop = startLoop(dir);
    await loop.said(/status and web view/);
    const live = await runYgg(['list', '--ready'], { cwd: dir });
    expect(live.stdout).toMatch(new RegExp(`${id}.*skadi draining`));
    expect(live.stdout).toMatch(new RegExp(`${orphan}.*no host is eligible`));
    expect((await readTasks(store)).find((t) => t.id === id)?.status).toBe('open');

    expect((await runYgg(['hosts', 'drain', 'skadi', '--undo'], { cwd: dir })).stdout).toContain(
      'drained hosts: none',
    );
    await waitForTasks(store, (ts) => ts.some((t) => t.id === id && t.status === 'closed'));
    loop.child.kill('SIGTERM');
    expect((await loop.exited).code).toBe(0);
    const tasks = await readTasks(store);
    expect(yggOf(tasks.find((t) => t.id === id)!).history?.at(-1)?.host).toBe('skadi');
    expect(tasks.find((t) => t.id === orphan)?.status).toBe('open');
  });
  it('ygg hosts shows the slots a running loop uses and which hosts are drained', async () => {
    const { dir, store } = await workspace(
      'hosts-live',
      `${hostsYaml()}
types:
  general: { hosts: [skadi] }
`,
    );
    const before = await runYgg(['hosts'], { cwd: dir });
    expect(before.stdout).toMatch(/skadi {2}up.* {2}slots 2\n/);
    expect(before.stdout).toContain('no loop answered on this store');

    const [id = ''] = await addSimulated(dir, 1, () => 120_000);
    const loop = startLoop(dir);
    await waitForTasks(store, (ts) => ts.some((t) => t.id === id && t.status === 'in_progress'));
    expect((await runYgg(['hosts', 'drain', 'fenrir'], { cwd: dir })).code).toBe(0);
    const json = await runYgg(['hosts', '--json'], { cwd: dir });
    const hosts = new Map(
      (JSON.parse(json.stdout) as Array<{ name: string; drained: boolean; slots: { used?: number } }>).map(
        (h) => [h.name, h],
      ),
    );
    expect(hosts.get('skadi')).toMatchObject({ drained: false, slots: { used: 1 } });
    expect(hosts.get('fenrir')).toMatchObject({ drained: true, slots: { used: 0 } });
    const text = await runYgg(['hosts'], { cwd: dir });
    expect(text.stdout).toMatch(/skadi {2}up[^\n]* {2}slots 1\/2 used/);
    expect(text.stdout).toMatch(/fenrir {2}up[^\n]*, drained {2}local {2}slots 0\/3 used/);
    expect(text.stdout).not.toContain('no loop answered');

    expect((await runYgg(['cancel', id], { cwd: dir })).code).toBe(0);
    loop.child.kill('SIGTERM');
    expect((await loop.exited).code).toBe(0);
  });
  it('marks a host that refuses connections down before claiming, runs what can go elsewhere, and says why the rest waits', async () => {
    const { dir, store } = await workspace('unreachable-host', '');
    const key = join(dir, 'key');
    await new Promise<void>((resolve, reject) =>
      spawn('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]).on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`ssh-keygen exited ${code}`)),
      ),
    );
    await writeFile(
      join(dir, 'hosts.yaml'),
      `hosts:
  ghost: { transport: ssh, address: 127.0.0.1, port: 1, user: nobody, key: ${key}, slots: 1 }
  skadi: { transport: local, slots: 1 }
types:
  general: { hosts: [ghost] }
  reasoning: { hosts: [ghost, skadi] }
queue:
  poll_interval: 500ms
`,
    );
    const stranded = (await runYgg(['add', 'only ghost', '--', 'echo', 'hi'], { cwd: dir })).stdout.trim();
    const movable = (
      await runYgg(['add', 'ghost or skadi', '--type', 'reasoning', '--', 'echo', 'hi'], { cwd: dir })
    ).stdout.trim();
    const loop = startLoop(dir, ['--status-port', '0']);
    await waitForTasks(store, (ts) => ts.some((t) => t.id === movable && t.status === 'closed'));
    const waiting = await waitUntil(
      async () => {
        const listed = JSON.parse(
          (await runYgg(['list', '--ready', '--json'], { cwd: dir })).stdout,
        ) as Array<{
          id: string;
          waiting?: string;
        }>;
        return listed.find((t) => t.id === stranded)?.waiting;
      },
      { what: 'list --ready to say why the task waits' },
    );
    expect(waiting).toMatch(/every eligible host is unavailable \(ghost down\)/);
    loop.child.kill('SIGTERM');
    expect((await loop.exited).code).toBe(0);
    const tasks = await readTasks(store);
    const left = tasks.find((t) => t.id === stranded)!;
    expect(left.status).toBe('open');
    expect(yggOf(left).history ?? []).toEqual([]); // never claimed: no attempt spent
    expect(yggOf(tasks.find((t) => t.id === movable)!).history?.map((a) => [a.host, a.outcome])).toEqual([
      ['skadi', 'succeeded'],
    ]);
  });
  it('ygg logs -f attached mid-run shows the output written before it came, then the rest live, each line once', async () => {
    const { dir } = await workspace(
      'logs-follow',
      `hosts:
  surtr: { transport: local, slots: 1, sandbox: { enabled: false } }
queue:
  poll_interval: 500ms
`,
    );
    // The command runs as an unprivileged user: it leaves and finds its flags in an open folder.
    const flags = join(dir, 'flags');
    await mkdir(flags);
    await chmod(dir, 0o755);
    await chmod(flags, 0o777);
    const ready = join(flags, 'READY');
    const go = join(flags, 'GO');
    const script = `echo one; echo two; echo three; touch ${ready}; while [ ! -e ${go} ]; do sleep 0.05; done; echo four`;
    const id = (await runYgg(['add', 'talks', '--', 'sh', '-c', script], { cwd: dir })).stdout.trim();
    const loop = startLoop(dir, ['--status-port', '0']);
    // Three lines written before anyone follows.
    await waitUntil(() => existsSync(ready), { what: 'the task to write its first lines' });
    const logs = spawn(process.execPath, [yggBin, 'logs', '-f', id], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const saw = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`never saw ${text}; got:\n${out}`)), 30_000);
        const check = () => {
          if (!out.includes(text)) return;
          clearTimeout(timer);
          resolve();
        };
        logs.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          check();
        });
        check();
      });
    await saw('three');
    const done = new Promise<number | null>((resolve) => logs.on('exit', resolve));
    expect(out).not.toContain('four');
    await writeFile(go, '');
    expect(await done).toBe(0);
    // The stream up to the end, then the result comment (which holds the whole output again).
    const [stream = '', comment = ''] = out.split(/^succeeded\n/m);
    expect(stream.match(/\b(one|two|three|four)\b/g)).toEqual(['one', 'two', 'three', 'four']);
    expect(comment).toMatch(/one\ntwo\nthree\nfour/);
    loop.child.kill('SIGTERM');
    expect((await loop.exited).code).toBe(0);
  });
  it('tells lines it keeps but cannot read, with file and line: on every command, and in a running loop as they appear', async () => {
    const { dir, store } = await workspace('store-problems');
    const good = (await runYgg(['add', 'fine'], { cwd: dir })).stdout.trim();
    await writeFile(store, 'this is not json\n', { flag: 'a' });
    const listed = await runYgg(['list'], { cwd: dir });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(good);
    expect(listed.stderr).toContain(`${store}:2: the line is not valid JSON`);
    expect(listed.stderr).toMatch(/keeps this line as it is/);

    const loop = startLoop(dir, ['--no-status']);
    await loop.said(new RegExp(`${store}:2: the line is not valid JSON`));
    await writeFile(store, '{"id": 42}\n', { flag: 'a' });
    await loop.said(new RegExp(`${store}:3: `));
    loop.child.kill('SIGTERM');
    const { stderr } = await loop.exited;
    expect(stderr.match(/issues\.jsonl:2: /g)).toHaveLength(1); // told once, not on every change
    expect((await readFile(store, 'utf8')).split('\n')[1]).toBe('this is not json');
  });
});
