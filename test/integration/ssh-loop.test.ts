import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostPool } from '../../src/hosts/pool.js';
import type { Plugin } from '../../src/plugins/api.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { runYgg } from '../helpers/cli.js';
import { loopHarness, pluginSet } from '../helpers/loop-harness.js';
import { processesMatching, type SshdInstance, startSshd } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

/** Three real sshd "hosts", one known_hosts file for all of them. */
async function threeHosts(
  name: string,
): Promise<{ hosts: SshdInstance[]; knownHosts: string; stop(): Promise<void> }> {
  const root = await testDir(name);
  const { chmod } = await import('node:fs/promises');
  await chmod(root, 0o755);
  const hosts: SshdInstance[] = [];
  for (const h of ['surtr', 'fenrir', 'skadi']) {
    const dir = join(root, h);
    await mkdir(dir);
    hosts.push(await startSshd(dir));
  }
  const knownHosts = join(root, 'known_hosts');
  await writeFile(
    knownHosts,
    (await Promise.all(hosts.map((h) => readFile(h.knownHostsFile, 'utf8')))).join(''),
  );
  return {
    hosts,
    knownHosts,
    stop: async () => Promise.all(hosts.map((h) => h.stop())).then(() => undefined),
  };
}

function hostsYaml(hosts: SshdInstance[], knownHosts: string, extraTypes = ''): string {
  const names = ['surtr', 'fenrir', 'skadi'];
  const entries = hosts.map(
    (h, i) => `  ${names[i]}:
    transport: ssh
    address: 127.0.0.1
    port: ${h.port}
    user: yggtest
    key: ${h.clientKeyFile}
    known_hosts: ${knownHosts}
    slots: 2
    probe_interval: 200ms
    probe_failures: 2
    sandbox:
      work_root: ${h.dir}/work
`,
  );
  return `type_rules:
  - {type: remote, labels: [remote]}
  - {type: shell, labels: [shell]}
  - {type: on-surtr, labels: [on-surtr]}
  - {type: on-fenrir, labels: [on-fenrir]}
  - {type: on-skadi, labels: [on-skadi]}
hosts:
${entries.join('')}types:
  remote:
    hosts: [surtr, fenrir, skadi]
    attempts: 3
    backoff: {base: 50ms, max: 200ms}
${extraTypes}`;
}

/** Runs a command on the task's host and records how many ran there at once. */
function remotePlugin(command: (task: Task, attempt: number) => string[]) {
  const running = new Map<string, number>();
  const most = new Map<string, number>();
  const ranOn: Array<{ id: string; host: string; attempt: number; out: string }> = [];
  const plugin: Plugin = {
    name: 'remote',
    types: ['remote', 'on-surtr', 'on-fenrir', 'on-skadi'],
    async run(task, ctx) {
      const host = ctx.host.name;
      running.set(host, (running.get(host) ?? 0) + 1);
      most.set(host, Math.max(most.get(host) ?? 0, running.get(host)!));
      try {
        const r = await ctx.exec(command(task, ctx.attempt), { signal: ctx.signal });
        if (r.code !== 0) throw new Error(`exit ${r.code ?? r.signal}: ${r.stderr}`);
        ranOn.push({ id: task.id, host, attempt: ctx.attempt, out: r.stdout.trim() });
        return r.stdout.trim();
      } finally {
        running.set(host, running.get(host)! - 1);
      }
    },
  };
  return { plugin, most, ranOn };
}

describe('the dispatch loop over three SSH hosts', () => {
  it('runs tasks on all three hosts over SSH, never past a host slots, and closes them', async () => {
    const cluster = await threeHosts('ssh-loop');
    try {
      const remote = remotePlugin(() => [
        'sh',
        '-c',
        'sleep 0.2; hostname >/dev/null; echo "ran as $(id -un)"',
      ]);
      let pool: HostPool | undefined;
      const h = await loopHarness(
        'ssh-loop-run',
        hostsYaml(cluster.hosts, cluster.knownHosts),
        pluginSet(remote.plugin),
        {
          start: false,
          transport: (host) => pool!.transport(host.name),
        },
      );
      pool = new HostPool(h.config.hosts, { bus: h.bus, gpuIntervalMs: 0 });
      try {
        await h.loop.start();
        const ids: string[] = [];
        for (let i = 0; i < 12; i++)
          ids.push((await h.store.add({ title: `remote ${i}`, labels: ['remote'] })).id);
        await Promise.all(ids.map((id) => h.waitFor('task:succeeded', (e) => e.taskId === id, 60_000)));
        await h.store.flush();
        for (const id of ids) expect(h.store.get(id)?.status).toBe('closed');
        expect(new Set(remote.ranOn.map((r) => r.host))).toEqual(new Set(['surtr', 'fenrir', 'skadi']));
        expect(remote.ranOn.every((r) => r.out === 'ran as yggtest')).toBe(true);
        for (const most of remote.most.values()) expect(most).toBeLessThanOrEqual(2);
      } finally {
        await h.loop.stop();
        await pool.close();
      }
    } finally {
      await cluster.stop();
    }
  });

  it('when a host sshd dies mid-task: the task finishes elsewhere, the host goes down, then up after restart', async () => {
    const cluster = await threeHosts('ssh-failover');
    try {
      const marker = `77${process.pid % 1000}.5`;
      // The first attempt never ends by itself; a retry (on another host) is quick.
      const remote = remotePlugin((task, attempt) =>
        task.title === 'slow one' && attempt === 1 ? ['sh', '-c', `sleep ${marker}`] : ['echo', 'quick'],
      );
      let pool: HostPool | undefined;
      const yaml = hostsYaml(
        cluster.hosts,
        cluster.knownHosts,
        ['surtr', 'fenrir', 'skadi'].map((n) => `  on-${n}:\n    hosts: [${n}]\n`).join(''),
      );
      const h = await loopHarness('ssh-failover-run', yaml, pluginSet(remote.plugin), {
        start: false,
        transport: (host) => pool!.transport(host.name),
        hostUp: (name) => pool!.hostHealth(name)?.state !== 'down',
      });
      pool = new HostPool(h.config.hosts, { bus: h.bus, gpuIntervalMs: 0, probeTimeoutMs: 2000 });
      try {
        pool.start();
        await Promise.all(
          ['surtr', 'fenrir', 'skadi'].map((host) => h.waitFor('host:up', (e) => e.host === host)),
        );
        await h.loop.start();
        const slow = (await h.store.add({ title: 'slow one', labels: ['remote'] })).id;
        const started = await h.waitFor('task:started', (e) => e.taskId === slow);
        const victim = cluster.hosts[['surtr', 'fenrir', 'skadi'].indexOf(started.host)]!;
        await waitUntil(() => processesMatching(`sleep ${marker}`).length > 0, { what: 'the remote sleep' });

        await victim.kill();
        const down = await h.waitFor('host:down', (e) => e.host === started.host);
        expect(down.error).toMatch(/refused|dropped|closed/);
        const done = await h.waitFor('task:succeeded', (e) => e.taskId === slow, 60_000);
        expect(done.host).not.toBe(started.host);
        expect(processesMatching(`sleep ${marker}`)).toEqual([]);

        // With its only eligible host down, a task waits and says why; it runs once the host is back.
        const pinned = (await h.store.add({ title: 'pinned', labels: [`on-${started.host}`] })).id;
        const held = await h.waitFor('task:unroutable', (e) => e.taskId === pinned);
        expect(held.reason).toMatch(new RegExp(`${started.host} down`));
        await victim.start();
        await h.waitFor(
          'host:up',
          (e) => e.host === started.host && pool!.hostHealth(started.host)?.state === 'up',
        );
        const pinnedDone = await h.waitFor('task:succeeded', (e) => e.taskId === pinned, 60_000);
        expect(pinnedDone.host).toBe(started.host);
        expect(pool.hostHealth(started.host)?.state).toBe('up');
      } finally {
        await h.loop.stop({ force: true });
        await pool.close();
      }
    } finally {
      await cluster.stop();
    }
  });

  it('ygg loop runs shell tasks on the SSH hosts, sandboxed, with hostile arguments kept as data', async () => {
    const cluster = await threeHosts('ssh-cli-loop');
    try {
      const dir = join(cluster.knownHosts, '..');
      await mkdir(join(dir, '.beads'), { recursive: true });
      const store = join(dir, '.beads', 'issues.jsonl');
      await writeFile(store, '');
      const config = join(dir, 'hosts.yaml');
      await writeFile(
        config,
        `${hostsYaml(cluster.hosts, cluster.knownHosts)}  shell:\n    hosts: [surtr, fenrir, skadi]\n`,
      );
      const hostile = ['$(echo INJECTED)', '`echo INJECTED`', '; echo INJECTED', '\'"', 'two\nlines'];
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const added = await runYgg(
          ['add', `shell ${i}`, '--type', 'shell', '--store', store, '--', 'printf', '[%s]', ...hostile],
          { cwd: dir },
        );
        expect(added.stderr).not.toMatch(/error/i);
        ids.push(added.stdout.trim());
      }
      const loop = await runYgg(
        ['loop', '--until-idle', '--no-status', '--store', store, '--config', config],
        {
          cwd: dir,
          timeoutMs: 120_000,
        },
      );
      expect(loop.code).toBe(0);
      const tasks = (await readFile(store, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Task);
      for (const id of ids) {
        const task = tasks.find((t) => t.id === id)!;
        expect(task.status, JSON.stringify(task.comments)).toBe('closed');
        const text = JSON.stringify(task.comments ?? []);
        expect(text).toContain(JSON.stringify(hostile.map((a) => `[${a}]`).join('')).slice(1, -1));
        expect(text).toContain('no network');
      }
      expect(loop.stdout + loop.stderr).not.toContain('INJECTED\n');
      // Each ran on one of the SSH hosts (how the work spread depends on timing, not asserted).
      const hostsUsed = new Set(tasks.flatMap((t) => (yggOf(t).history ?? []).map((a) => a.host)));
      expect([...hostsUsed].every((h) => ['surtr', 'fenrir', 'skadi'].includes(h))).toBe(true);
      for (const host of hostsUsed) expect(['surtr', 'fenrir', 'skadi']).toContain(host);
    } finally {
      await cluster.stop();
    }
  });
});
