/**
 * `ygg doctor [HOST]`: checks each host step by step (name and port, host key, login, the
 * sandbox protections in force, nvidia-smi, every model endpoint) and says what to fix, naming
 * settings as `hosts.NAME.key`; then, with no host named, the disk `.ygg/` uses against the
 * retention limits. Exits 1 when a step failed. `--fix` (as root on the host) makes a user per
 * slot instead: see doctor-fix.ts.
 */
import { lookup } from 'node:dns/promises';
import { createConnection } from 'node:net';
import type { Command } from 'commander';
import { openConfig } from '../app/config.js';
import { findLocalModel } from '../app/local-models.js';
import type { HostConfig, ModelEndpoint } from '../config/types.js';
import { ExitError, YggError } from '../errors.js';
import { sandboxCapabilitiesOf } from '../hosts/capabilities.js';
import { gpuQueryArgv, isMissingNvidiaSmi, parseGpuQuery } from '../hosts/gpu.js';
import { checkEndpoint, type EndpointCheck } from '../hosts/model/check.js';
import { describeFound, seenModelsOf, withLocalModel, writeSeenModels } from '../hosts/model/local-models.js';
import { sameModel } from '../hosts/model/model-request.js';
import { createTransport } from '../hosts/pool.js';
import { planSandbox, type SandboxCapabilities } from '../hosts/sandbox.js';
import { fetchHostKey } from '../hosts/ssh/fetch-host-key.js';
import { hostKeyCheck, knownHostsPath } from '../hosts/ssh/host-key.js';
import { readKnownHosts } from '../hosts/ssh/known-hosts.js';
import { builtinPluginDir, loadPlugins } from '../plugins/loader.js';
import { locateStore } from '../store/open.js';
import { doctorFix, formatFix } from './doctor-fix.js';
import { runtimeDiagnosis } from './doctor-runtime.js';
import type { DoctorOptions, DoctorStep, HostDiagnosis, StepStatus } from './doctor-step.js';
import { storeDiagnosis } from './doctor-store.js';
import { typesDiagnosis } from './doctor-types.js';

export type { DoctorOptions, DoctorStep, HostDiagnosis, StepStatus } from './doctor-step.js';

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
      fix: `Check hosts.${host.name}.address in hosts.yaml (the host's name when unset), or DNS / /etc/hosts.`,
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

/** How to put back a protection that is not in force, from planSandbox's line. */
function protectionFix(host: HostConfig, line: string): string | undefined {
  const key = `hosts.${host.name}.sandbox`;
  if (line.includes('sandbox.cgroup is not true'))
    return `Set ${key}.cgroup to true in hosts.yaml for a cgroup per command without bubblewrap (or ${key}.enabled to true).`;
  if (line.includes('sandbox.enabled is false'))
    return `Set ${key}.enabled to true (or remove it) in hosts.yaml.`;
  if (line.includes('`timeout` missing'))
    return `Install coreutils on ${host.name} (apt-get install coreutils).`;
  if (line.includes('`prlimit` missing') || line.includes('`setpriv` missing'))
    return `Install util-linux on ${host.name} (apt-get install util-linux).`;
  if (line.includes('does not exist'))
    return `Create the user ${host.sandbox.runAs ?? 'nobody'} on ${host.name}, or set ${key}.run_as to an unprivileged user there.`;
  if (line.includes('bubblewrap (not installed)'))
    return `Install bubblewrap on ${host.name} (apt-get install bubblewrap).`;
  if (line.includes('a user per slot (no user'))
    return `Run \`ygg doctor --fix ${host.name}\` as root (on ${host.name}, or here over a root login): it creates ygg-slot-0 … ygg-slot-${host.slots - 1}, one user per slot, so slots count their processes apart.`;
  if (line.includes('a user per slot holds'))
    return `Give ygg a cgroup on ${host.name} (cgroup v1 as root, or a delegated cgroup v2) for memory and CPU per command too; ${key}.cgroup must not be false.`;
  if (line.includes('sandbox.cgroup is false'))
    return `Remove ${key}.cgroup (or set it to true) in hosts.yaml.`;
  if (line.includes('a cgroup of its own'))
    return `Let ygg log in to ${host.name} as root (it drops to ${key}.run_as for the command): it then gives each command a cgroup of its own, on cgroup v1 or v2.`;
  if (line.includes('CPU share'))
    return `Give ygg a cgroup on ${host.name} (log in as root), or remove ${key}.cpu_share.`;
  if (line.includes('bubblewrap (fails'))
    return 'Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or the AppArmor bwrap profile).';
  return undefined;
}

/** The protections a sandboxed command gets on this host (as `ygg hosts` lists them), a WARN for each one missing. */
function protectionSteps(host: HostConfig, caps: SandboxCapabilities): DoctorStep[] {
  const { protections } = planSandbox(['true'], {
    // A fixed name: each attempt gets its own work directory and cgroup.
    request: true,
    runId: 'run-ATTEMPT',
    settings: host.sandbox,
    caps,
    slots: host.slots,
    // The local transport spawns a command without a wrapper where nothing needs one.
    direct: host.transport === 'local',
  });
  const missing = protections.filter((p) => p.startsWith('NOT in force'));
  const inForce = protections.filter((p) => !p.startsWith('NOT in force'));
  const steps: DoctorStep[] = [{ step: 'protections', status: 'ok', detail: inForce.join('; ') }];
  for (const line of missing) {
    const step: DoctorStep = {
      step: 'not in force',
      status: 'warn',
      detail: line.replace(/^NOT in force: /, ''),
    };
    const fix = protectionFix(host, line);
    if (fix) step.fix = fix;
    steps.push(step);
  }
  return steps;
}

/** A hint fitting why an endpoint check failed; `key` is the setting that names the endpoint. */
function endpointFix(host: HostConfig, endpoint: ModelEndpoint, key: string, check: EndpointCheck): string {
  const env = endpoint.apiKeyEnv;
  switch (check.problem) {
    case 'missing-key':
      return `Set ${env} in the environment ygg runs in (${key}.api_key_env names it), or remove ${key}.api_key_env if the endpoint needs no key.`;
    case 'auth':
      return env
        ? `The endpoint refused the key in ${env} (HTTP ${check.status}): check the key, and that ${key}.api_key_env names the right variable.`
        : `The endpoint wants an API key (HTTP ${check.status}): put it in an environment variable and name that variable in ${key}.api_key_env.`;
    case 'http':
      return check.status === 404
        ? `Check ${key}.url and ${key}.api: an ${endpoint.api} endpoint lists its models at ${endpoint.api === 'ollama' ? '/api/tags' : '/v1/models'}.`
        : `The endpoint answered HTTP ${check.status}: look at the model server's log on ${host.name}.`;
    default:
      return `Start the model server on ${host.name}, or check ${key}.url (${endpoint.url}): it must be reachable from this machine.`;
  }
}

/**
 * One step per distinct endpoint of the host (its `model` and each `models_by_type` entry):
 * whether it answers, every model it serves, and whether each configured model is among them.
 */
async function modelSteps(host: HostConfig, listed?: Map<string, string[]>): Promise<DoctorStep[]> {
  const named: Array<{ key: string; endpoint: ModelEndpoint }> = [];
  if (host.model) named.push({ key: `hosts.${host.name}.model`, endpoint: host.model });
  for (const [type, endpoint] of Object.entries(host.typeModels))
    named.push({ key: `hosts.${host.name}.models_by_type.${type}`, endpoint });
  const groups = new Map<string, Array<{ key: string; endpoint: ModelEndpoint }>>();
  for (const entry of named) {
    const id = `${entry.endpoint.api} ${entry.endpoint.url} ${entry.endpoint.apiKeyEnv ?? ''}`;
    groups.set(id, [...(groups.get(id) ?? []), entry]);
  }
  return Promise.all(
    [...groups.values()].map(async (users) => {
      const first = users[0]!;
      const where = `${first.endpoint.url} (${first.endpoint.api})`;
      const check = await checkEndpoint(first.endpoint, { owner: `host ${host.name}`, configKey: first.key });
      if (check.models.length) listed?.set(host.name, [...(listed.get(host.name) ?? []), ...check.models]);
      if (check.models.length === 0 && !check.ok && check.problem !== 'model-missing') {
        return {
          step: 'model endpoint',
          status: 'fail',
          detail: `${where}: ${check.error}`,
          fix: endpointFix(host, first.endpoint, first.key, check),
        } satisfies DoctorStep;
      }
      const serves = `serves ${check.models.length} model${check.models.length === 1 ? '' : 's'}: ${check.models.join(', ') || 'none'}`;
      const absent = users.filter((u) => !check.models.some((m) => sameModel(m, u.endpoint.model)));
      const wanted = users.map((u) => `${u.endpoint.model} (${u.key})`).join(', ');
      if (absent.length === 0) {
        return {
          step: 'model endpoint',
          status: 'ok',
          detail: `${where} answered in ${check.latencyMs} ms and ${serves}; configured: ${wanted}`,
        } satisfies DoctorStep;
      }
      const models = [...new Set(absent.map((u) => u.endpoint.model))];
      const pull =
        first.endpoint.api === 'ollama' ? ` (${models.map((m) => `ollama pull ${m}`).join('; ')})` : '';
      return {
        step: 'model endpoint',
        status: 'fail',
        detail: `${where} ${serves}; not served: ${absent.map((u) => `${u.endpoint.model} (${u.key}.model)`).join(', ')}`,
        fix: `Pull ${models.join(', ')} on ${host.name}${pull}, or set ${absent.map((u) => `${u.key}.model`).join(', ')} to a model it serves.`,
      } satisfies DoctorStep;
    }),
  );
}

async function diagnose(host: HostConfig, listed?: Map<string, string[]>): Promise<HostDiagnosis> {
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
    steps.push(...protectionSteps(host, caps));
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
            fix: `Check that hosts.${host.name}.sandbox.work_root (${host.sandbox.workRoot}) is writable on ${host.name}.`,
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
  steps.push(...(await modelSteps(host, listed)));
  return finish();
}

export async function doctor(options: DoctorOptions): Promise<HostDiagnosis[]> {
  const opened = await openConfig({ cwd: options.cwd, config: options.configPath });
  // A model server on this machine, as the loop would find it (and `.ygg/models.json` for add).
  let runtimeDir: string | undefined;
  try {
    runtimeDir = locateStore({ cwd: options.cwd }).runtimeDir;
  } catch {
    runtimeDir = undefined;
  }
  const found = await findLocalModel(opened.config, runtimeDir, () => undefined);
  const config = withLocalModel(opened.config, found);
  const hosts = options.host ? config.hosts.filter((h) => h.name === options.host) : config.hosts;
  if (options.host && hosts.length === 0) {
    throw new YggError(`no host named ${options.host}`, {
      hint: `hosts: ${config.hosts.map((h) => h.name).join(', ')}`,
    });
  }
  // The models each endpoint listed, kept beside what was found for ygg add's warning.
  const listed = new Map<string, string[]>();
  const results = await Promise.all(hosts.map((host) => diagnose(host, listed)));
  if (runtimeDir && listed.size > 0) {
    try {
      writeSeenModels(runtimeDir, seenModelsOf(config, found, new Date(), listed));
    } catch {
      // Only a hint for ygg add.
    }
  }
  // With no host named, `.ygg/`'s disk use against the retention limits too, and a database store.
  if (options.host) return results;
  const store = await storeDiagnosis({
    cwd: options.cwd,
    config: opened.config,
    ...(options.configPath ? { configPath: options.configPath } : {}),
  });
  const plugins = await loadPlugins([builtinPluginDir(), ...config.pluginDirs]);
  const local = describeFound(opened.config, found);
  const types = typesDiagnosis(config, plugins);
  if (local) types.steps.unshift({ step: 'model server here', status: found ? 'ok' : 'skip', detail: local });
  return [...results, types, ...store, ...(await runtimeDiagnosis(options.cwd, config))];
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
      'Check each host step by step (name, port, host key, login, sandbox, GPUs, model) and say what to fix; then .ygg/ disk use.',
    )
    .option('--json', 'print JSON')
    .option('--config <path>', 'hosts.yaml (default: YGG_CONFIG, else beside .beads/, else the shipped one)')
    .option(
      '--fix',
      'as root on the host: create a user per slot (ygg-slot-0 … for its slots), used where it has no cgroup',
    )
    .addHelpText(
      'after',
      `
--fix makes system users ygg-slot-0 … ygg-slot-(N-1) for each host's N slots (no home, no login
shell, password locked; users that exist are left alone). Where a host gives ygg no cgroup, a
command then runs as its slot's user, so a fork bomb in one slot cannot use up another slot's
process count (memory and CPU time stay bounded per process). Run it as root: on this machine
for a local host; for an SSH host ygg runs it over its login when that login is root, else it
says what to run there as root. Restart a running loop afterwards.`,
    )
    .action(async (host: string | undefined, flags: { json?: boolean; config?: string; fix?: boolean }) => {
      if (flags.fix) {
        const fixed = await doctorFix({ cwd: process.cwd(), configPath: flags.config, host });
        process.stdout.write(flags.json ? `${JSON.stringify(fixed, null, 2)}\n` : formatFix(fixed));
        if (fixed.some((r) => !r.ok)) throw new ExitError(1);
        return;
      }
      const results = await doctor({ cwd: process.cwd(), configPath: flags.config, host });
      process.stdout.write(flags.json ? `${JSON.stringify(results, null, 2)}\n` : formatDiagnosis(results));
      if (results.some((r) => !r.ok)) throw new ExitError(1);
    });
}
