/**
 * SSH round trips, all against local sshd instances this benchmark starts itself: a trivial
 * command through ygg's pooled ssh2 connection, against spawning `ssh` per command and `ssh`
 * through a ControlMaster socket (the baselines, measured in the same run); then 500 concurrent
 * commands over 3 hosts with sshd's default MaxSessions (10), which must all succeed.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SshTransport } from '../src/hosts/ssh/transport.js';
import { type SshdInstance, startSshd } from '../test/helpers/sshd.js';
import { table } from './lib/table.js';
import { percentile } from './lib/workspace.js';

const run$ = promisify(execFile);

function sshArgs(sshd: SshdInstance, extra: string[] = []): string[] {
  return [
    '-p',
    String(sshd.port),
    '-i',
    sshd.clientKeyFile,
    '-o',
    `UserKnownHostsFile=${sshd.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    ...extra,
    `${sshd.user}@127.0.0.1`,
  ];
}

async function timeEach(count: number, once: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  return times;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const samples = Number(args.find((a) => a.startsWith('--samples='))?.slice(10) ?? 200);
  const log = (text: string) => {
    if (!json) process.stderr.write(`${text}\n`);
  };
  const root = await mkdtemp(join(tmpdir(), 'ygg-bench-ssh-'));
  // sshd reads authorized_keys below here as the unprivileged test user.
  await chmod(root, 0o755);
  const hosts: SshdInstance[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const dir = join(root, `host${i}`);
      await run$('mkdir', ['-p', dir]);
      hosts.push(await startSshd(dir));
    }
    const [first] = hosts as [SshdInstance];

    log(`pooled: ${samples} sequential commands on one pooled connection`);
    await using pooled = new SshTransport('bench0', first.sshSettings());
    await timeEach(10, () => pooled.exec(['true']));
    const pooledTimes = await timeEach(samples, () => pooled.exec(['true']));

    const spawnCount = Math.max(10, Math.round(samples / 10));
    log(`spawn: ${spawnCount} commands, one ssh process each`);
    const spawnTimes = await timeEach(spawnCount, () => run$('ssh', [...sshArgs(first), 'true']));

    log(`controlmaster: ${samples} commands through one ControlMaster socket`);
    const socket = join(root, 'cm.sock');
    let cmTimes: number[] = [];
    const master = spawn(
      'ssh',
      [...sshArgs(first, ['-M', '-S', socket, '-N']).slice(0, -1), `${first.user}@127.0.0.1`],
      {
        stdio: 'ignore',
      },
    );
    try {
      await timeEach(1, async () => {
        for (let i = 0; i < 200; i++) {
          try {
            await run$('ssh', ['-S', socket, '-O', 'check', `${first.user}@127.0.0.1`]);
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 25));
          }
        }
        throw new Error('ControlMaster did not come up');
      });
      await timeEach(5, () => run$('ssh', [...sshArgs(first, ['-S', socket]), 'true']));
      cmTimes = await timeEach(samples, () => run$('ssh', [...sshArgs(first, ['-S', socket]), 'true']));
    } finally {
      master.kill();
    }

    log('concurrent: 500 commands at once over 3 hosts (default MaxSessions)');
    const transports = hosts.map((h, i) => new SshTransport(`bench${i}`, h.sshSettings()));
    const started = performance.now();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 500 }, (_, i) => transports[i % 3]!.exec(['sh', '-c', `echo ${i}`])),
    );
    const concurrentMs = performance.now() - started;
    const ok = outcomes.filter(
      (o, i) => o.status === 'fulfilled' && o.value.code === 0 && o.value.stdout === `${i}\n`,
    ).length;
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
    const connections = transports.reduce((n, t) => n + t.pool.opened, 0);
    await Promise.all(transports.map((t) => t.close()));

    const result = {
      pooled_p50_ms: percentile(pooledTimes, 50),
      spawn_p50_ms: percentile(spawnTimes, 50),
      controlmaster_p50_ms: percentile(cmTimes, 50),
      pooled_p95_ms: percentile(pooledTimes, 95),
      spawn_vs_pooled: percentile(spawnTimes, 50) / percentile(pooledTimes, 50),
      controlmaster_vs_pooled: percentile(cmTimes, 50) / percentile(pooledTimes, 50),
      concurrent_ok: ok,
      concurrent_total: 500,
      concurrent_ms: concurrentMs,
      concurrent_connections: connections,
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    process.stdout.write(
      table(
        ['round trip of `true`', 'p50 ms', 'p95 ms', 'pooled is faster by'],
        [
          ['ygg pooled ssh2', result.pooled_p50_ms, percentile(pooledTimes, 95), '-'],
          [
            'ssh per command',
            result.spawn_p50_ms,
            percentile(spawnTimes, 95),
            `${result.spawn_vs_pooled.toFixed(1)}x (target 20x)`,
          ],
          [
            'ssh ControlMaster',
            result.controlmaster_p50_ms,
            percentile(cmTimes, 95),
            `${result.controlmaster_vs_pooled.toFixed(1)}x (target 3x)`,
          ],
        ],
      ),
    );
    process.stdout.write(
      `\n500 concurrent over 3 hosts: ${ok}/500 ok in ${concurrentMs.toFixed(0)} ms over ${connections} connections${failures.length ? `; first failure: ${failures[0]}` : ''}\n`,
    );
  } finally {
    for (const h of hosts) await h.stop();
    await rm(root, { recursive: true, force: true });
  }
}
