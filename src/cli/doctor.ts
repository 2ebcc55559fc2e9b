/**
 * `ygg doctor [HOST]`: checks each host step by step (name and port, host key, login, sandbox
 * tools, nvidia-smi, model endpoint) and says what to fix. Exits 1 when a step failed.
 */
import { lookup } from 'node:dns/promises';
import { createConnection } from 'node:net';
import type { Command } from 'commander';
import type { HostConfig } from '../config/types.js';
import { ExitError, YggError } from '../errors.js';
import { sandboxCapabilitiesOf } from '../hosts/capabilities.js';
import { gpuQueryArgv, isMissingNvidiaSmi, parseGpuQuery } from '../hosts/gpu.js';
import { checkEndpoint } from '../hosts/model/check.js';
import { createTransport } from '../hosts/pool.js';
import { fetchHostKey } from '../hosts/ssh/fetch-host-key.js';
import { hostKeyCheck, knownHostsPath } from '../hosts/ssh/host-key.js';
import { readKnownHosts } from '../hosts/ssh/known-hosts.js';
import { openConfig } from './runtime.js';

export type StepStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface DoctorStep {
  step: string;
  status: StepStatus;
  detail: string;
  fix?: string;
}

export interface HostDiagnosis {
  host: string;
  steps: DoctorStep[];
  ok: boolean;
}

export interface DoctorOptions {
  cwd: string;
  configPath?: string;
  host?: string;
}

function tcpCheck(address: string, port: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: address, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(performance.now() - started);
    });
    socket.once('error', reject);
  });
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const hintOf = (error: unknown) => {
  const hint = (error as { hint?: unknown }).hint;
  return typeof hint === 'string' ? hint : undefined;
};

async function sshSteps(host: HostConfig, steps: DoctorStep[]): Promise<boolean> {
  const ssh = host.ssh!;
  try {
    const { address } = await lookup(ssh.address);
    steps.push({ step: 'name', status: 'ok', detail: `${ssh.address} is ${address}` });
  } catch (error) {
    steps.push({
      step: 'name',
      status: 'fail',
      detail: `cannot resolve ${ssh.address}: ${message(error)}`,
      fix: 'Check ssh.address in hosts.yaml, or DNS / /etc/hosts.',
    });
    return false;
  }
  try {
    const ms = await tcpCheck(ssh.address, ssh.port, ssh.connectTimeoutMs);
    steps.push({ step: 'tcp', status: 'ok', detail: `port ${ssh.port} answers (${ms.toFixed(1)} ms)` });
  } catch (error) {
    steps.push({
      step: 'tcp',
      status: 'fail',
      detail: `${ssh.address}:${ssh.port}: ${message(error)}`,
      fix: `Is sshd running on ${host.name} and listening on port ${ssh.port}? Is a firewall in the way?`,
    });
    return false;
  }
  try {
    const key = await fetchHostKey(host.name, ssh);
    const check = hostKeyCheck(
      host.name,
      ssh,
      ssh.fingerprint ? '' : await readKnownHosts(knownHostsPath(ssh)),
    );
    if (check.verify(key)) {
      steps.push({
        step: 'host key',
        status: 'ok',
        detail: ssh.fingerprint ? 'matches the pinned fingerprint' : `known in ${knownHostsPath(ssh)}`,
      });
    } else {
      steps.push({
        step: 'host key',
        status: 'fail',
        detail: check.failure!.message,
        fix: check.failure!.hint,
      });
      return false;
    }
  } catch (error) {
    steps.push({ step: 'host key', status: 'fail', detail: message(error), fix: hintOf(error) });
    return false;
  }
  return true;
}

async function diagnose(host: HostConfig): Promise<HostDiagnosis> {
  const steps: DoctorStep[] = [];
  const finish = () => ({ host: host.name, steps, ok: steps.every((s) => s.status !== 'fail') });
  if (host.transport === 'ssh') {
    if (!(await sshSteps(host, steps))) return finish();
  }
  await using transport = createTransport(host);
  try {
    const { latencyMs } = await transport.probe(AbortSignal.timeout(20_000));
    steps.push({
      step: host.transport === 'ssh' ? 'login' : 'run',
      status: 'ok',
      detail: `ran a command (${latencyMs.toFixed(1)} ms)`,
    });
  } catch (error) {
    steps.push({ step: 'login', status: 'fail', detail: message(error), fix: hintOf(error) });
    return finish();
  }
  try {
    const caps = await sandboxCapabilitiesOf(host, transport);
    const tools: Array<[string, boolean, string]> = [
      ['timeout', caps.timeout, 'apt-get install coreutils'],
      ['prlimit', caps.prlimit, 'apt-get install util-linux'],
    ];
    if (caps.loginUid === 0)
      tools.push([
        'setpriv',
        caps.setpriv && caps.runAs !== undefined,
        caps.setpriv
          ? `create the user ${host.sandbox.runAs ?? 'nobody'} or set sandbox.run_as`
          : 'apt-get install util-linux',
      ]);
    for (const [tool, present, fix] of tools) {
      steps.push(
        present
          ? { step: tool, status: 'ok', detail: 'present' }
          : { step: tool, status: 'warn', detail: 'missing: that protection is not in force', fix },
      );
    }
    if (caps.bwrap === 'working') {
      steps.push({ step: 'bubblewrap', status: 'ok', detail: 'present and working' });
    } else {
      steps.push({
        step: 'bubblewrap',
        status: 'warn',
        detail:
          caps.bwrap === 'missing'
            ? 'missing: commands run without filesystem, network or pid isolation'
            : `present but fails: ${caps.bwrapError ?? 'unknown error'}`,
        fix:
          caps.bwrap === 'missing'
            ? 'apt-get install bubblewrap'
            : 'Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or the AppArmor bwrap profile).',
      });
    }
    const trial = await transport.exec(['sh', '-c', 'echo sandboxed'], { sandbox: true, timeoutMs: 20_000 });
    steps.push(
      trial.code === 0 && trial.stdout === 'sandboxed\n'
        ? {
            step: 'sandboxed run',
            status: 'ok',
            detail: `a sandboxed command ran (${trial.durationMs.toFixed(0)} ms)`,
          }
        : {
            step: 'sandboxed run',
            status: 'fail',
            detail: `a sandboxed command failed (exit ${trial.code ?? trial.signal}): ${trial.stderr.trim().slice(0, 300)}`,
            fix: `Check sandbox.work_root (${host.sandbox.workRoot}) is writable on ${host.name}.`,
          },
    );
  } catch (error) {
    steps.push({ step: 'sandbox', status: 'fail', detail: message(error), fix: hintOf(error) });
  }
  try {
    const gpu = await transport.exec(gpuQueryArgv(), { timeoutMs: 20_000 });
    if (isMissingNvidiaSmi(gpu)) {
      steps.push({
        step: 'nvidia-smi',
        status: 'skip',
        detail: 'not installed: no GPU data (fine for a CPU-only host)',
      });
    } else if (gpu.code !== 0) {
      steps.push({
        step: 'nvidia-smi',
        status: 'warn',
        detail: `fails: ${(gpu.stderr || gpu.stdout).trim().slice(0, 300)}`,
        fix: 'Check the NVIDIA driver on the host (nvidia-smi there).',
      });
    } else {
      const gpus = parseGpuQuery(gpu.stdout);
      steps.push({
        step: 'nvidia-smi',
        status: 'ok',
        detail: `${gpus.length} GPU${gpus.length === 1 ? '' : 's'}: ${gpus.map((g) => g.name ?? `#${g.index}`).join(', ')}`,
      });
    }
  } catch (error) {
    steps.push({ step: 'nvidia-smi', status: 'warn', detail: message(error) });
  }
  if (host.model) {
    const result = await checkEndpoint(host.model);
    steps.push(
      result.ok
        ? {
            step: 'model endpoint',
            status: 'ok',
            detail: `${host.model.url} serves ${host.model.model} (${result.latencyMs} ms)`,
          }
        : {
            step: 'model endpoint',
            status: 'fail',
            detail: `${host.model.url}: ${result.error}`,
            fix: `Start the model server on ${host.name}, or pull ${host.model.model} there.`,
          },
    );
  }
  return finish();
}

export async function doctor(options: DoctorOptions): Promise<HostDiagnosis[]> {
  const { config } = await openConfig({ cwd: options.cwd, config: options.configPath });
  const hosts = options.host ? config.hosts.filter((h) => h.name === options.host) : config.hosts;
  if (options.host && hosts.length === 0) {
    throw new YggError(`no host named ${options.host}`, {
      hint: `hosts: ${config.hosts.map((h) => h.name).join(', ')}`,
    });
  }
  return Promise.all(hosts.map(diagnose));
}

const MARK: Record<StepStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: '--  ' };

export function formatDiagnosis(results: HostDiagnosis[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.host}: ${r.ok ? 'ok' : 'needs fixing'}`);
    for (const s of r.steps) {
      lines.push(`  ${MARK[s.status]} ${s.step}: ${s.detail}`);
      if (s.fix && s.status !== 'ok') lines.push(`       fix: ${s.fix}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('doctor [host]')
    .description(
      'Check each host step by step (name, port, host key, login, sandbox, GPUs, model) and say what to fix.',
    )
    .option('--json', 'print JSON')
    .option('--config <path>', 'hosts.yaml (default: YGG_CONFIG, else beside .beads/, else the shipped one)')
    .action(async (host: string | undefined, flags: { json?: boolean; config?: string }) => {
      const results = await doctor({ cwd: process.cwd(), configPath: flags.config, host });
      process.stdout.write(flags.json ? `${JSON.stringify(results, null, 2)}\n` : formatDiagnosis(results));
      if (results.some((r) => !r.ok)) throw new ExitError(1);
    });
}
