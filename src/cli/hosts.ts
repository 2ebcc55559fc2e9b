import type { Command } from 'commander';
import { openConfig } from '../app/config.js';
import { describeDifference, followDatabase, hostDifferences } from '../app/database-hosts.js';
import type { HostConfig, YggConfig } from '../config/types.js';
import { readControl } from '../dispatch/control.js';
import { ExitError, YggError } from '../errors.js';
import { sandboxCapabilitiesOf } from '../hosts/capabilities.js';
import {
  effectiveSlots,
  type GpuReading,
  gpuQueryArgv,
  isMissingNvidiaSmi,
  parseGpuQuery,
} from '../hosts/gpu.js';
import { createTransport } from '../hosts/pool.js';
import { planSandbox } from '../hosts/sandbox.js';
import { fetchHostKey } from '../hosts/ssh/fetch-host-key.js';
import { knownHostsPath } from '../hosts/ssh/host-key.js';
import {
  appendKnownHost,
  fingerprint,
  hostPattern,
  keyTypeOf,
  knownHostsLine,
  readKnownHosts,
  verifyKnownHost,
} from '../hosts/ssh/known-hosts.js';
import { locateStore } from '../store/beads-jsonl/locate.js';
import type { HostRecord } from '../store/host-catalog.js';
import { chosenStore, openStore } from '../store/open.js';
import { isPostgresUrl } from '../store/postgres/url.js';
import type { TaskStore } from '../store/store.js';
import { liveSnapshot } from './live-loops.js';

export interface HostsOptions {
  cwd: string;
  configPath?: string;
  /** The Beads file whose loop and switches to ask (default: found as every command finds it). */
  storePath?: string;
  /** Bound on reaching each host (default 15 s). */
  timeoutMs?: number;
}

export interface HostReport {
  name: string;
  transport: 'local' | 'ssh';
  address?: string;
  state: 'up' | 'down';
  /** Drained by `ygg hosts drain`: no new tasks, running ones finish. */
  drained: boolean;
  latencyMs?: number;
  error?: string;
  hint?: string;
  /** `used`: told by the running loops (absent when none answers); `byLoop`: how many each runs there, with several loops. */
  slots: {
    configured: number;
    effective: number;
    used?: number;
    byLoop?: Record<string, number>;
    vramGbNeeded?: number;
  };
  /** Where this hosts.yaml and the shared store disagree about the host (the store's slots apply). */
  note?: string;
  /** null: the host has no nvidia-smi; undefined: not known (host down). */
  gpus?: GpuReading[] | null;
  protections: string[];
}

/** The largest GPU memory any type routed to this host declares. */
function largestVramNeed(config: YggConfig, host: string): number | undefined {
  const needs = Object.values(config.types)
    .filter((t) => t.hosts.includes(host) && t.vramGb !== undefined)
    .map((t) => t.vramGb!);
  return needs.length ? Math.max(...needs) : undefined;
}

async function reportHost(
  config: YggConfig,
  host: HostConfig,
  timeoutMs: number,
  live: LiveHosts,
): Promise<HostReport> {
  const used = live.used.get(host.name);
  const byLoop = live.byLoop.get(host.name);
  const report: HostReport = {
    name: host.name,
    transport: host.transport,
    state: 'down',
    drained: live.drained.has(host.name),
    slots: {
      configured: host.slots,
      effective: host.slots,
      ...(used === undefined ? {} : { used }),
      ...(byLoop ? { byLoop } : {}),
    },
    protections: [],
  };
  if (host.ssh) report.address = `${host.ssh.user}@${host.ssh.address}:${host.ssh.port}`;
  const vram = largestVramNeed(config, host.name);
  if (vram !== undefined) report.slots.vramGbNeeded = vram;
  await using transport = createTransport(host);
  try {
    const { latencyMs } = await transport.probe(AbortSignal.timeout(timeoutMs));
    report.state = 'up';
    report.latencyMs = Math.round(latencyMs * 10) / 10;
  } catch (error) {
    report.error = (error as Error).message;
    const hint = (error as { hint?: unknown }).hint;
    if (typeof hint === 'string') report.hint = hint;
    return report;
  }
  const [caps, gpu] = await Promise.allSettled([
    sandboxCapabilitiesOf(host, transport),
    transport.exec(gpuQueryArgv(), { timeoutMs }),
  ]);
  if (caps.status === 'fulfilled') {
    report.protections = planSandbox(['true'], {
      // A fixed name: each attempt gets its own work directory and cgroup.
      request: true,
      runId: 'run-ATTEMPT',
      settings: host.sandbox,
      caps: caps.value,
      slots: host.slots,
      // The local transport spawns a command without a wrapper where nothing needs one.
      direct: host.transport === 'local',
    }).protections;
  } else {
    report.protections = [`NOT known: the sandbox probe failed (${(caps.reason as Error).message})`];
  }
  if (gpu.status === 'fulfilled') {
    if (isMissingNvidiaSmi(gpu.value)) report.gpus = null;
    else if (gpu.value.code === 0) report.gpus = parseGpuQuery(gpu.value.stdout);
  }
  report.slots.effective = effectiveSlots(host, report.gpus ?? undefined, vram);
  return report;
}

/** What the store's switches and its running loops (those that answer) say about the hosts. */
interface LiveHosts {
  drained: Set<string>;
  used: Map<string, number>;
  /** Per host, tasks each loop runs there (several loops only). */
  byLoop: Map<string, Record<string, number>>;
  /** A store shared by machines: its hosts, whose slots every dispatcher follows. */
  records?: HostRecord[] | undefined;
}

async function liveHosts(options: HostsOptions): Promise<LiveHosts> {
  const live: LiveHosts = { drained: new Set(), used: new Map(), byLoop: new Map() };
  const given = chosenStore({
    ...(options.storePath ? { path: options.storePath } : {}),
    cwd: options.cwd,
    ...(options.configPath ? { configPath: options.configPath } : {}),
  });
  // A database: the switches, the dispatchers and the hosts' slots are all in it.
  if (isPostgresUrl(given)) {
    await using store = await openStore({ path: given, cwd: options.cwd });
    live.records = await store.hostCatalog?.read();
    return await gatherLive(live, store); // awaited here: the store closes when this block ends
  }
  let runtimeDir: string;
  try {
    runtimeDir = locateStore({ store: options.storePath, cwd: options.cwd }).runtimeDir;
  } catch {
    return live; // no store here: no switches and no loop to ask
  }
  return gatherLive(live, runtimeDir);
}

async function gatherLive(live: LiveHosts, place: string | TaskStore): Promise<LiveHosts> {
  for (const name of (await readControl(place)).drained) live.drained.add(name);
  const snapshot = await liveSnapshot(place);
  for (const host of snapshot?.hosts ?? []) live.used.set(host.name, host.slots.used);
  if (snapshot?.loops)
    for (const run of snapshot.running) {
      if (!run.loop) continue;
      const counts = live.byLoop.get(run.host) ?? {};
      counts[run.loop] = (counts[run.loop] ?? 0) + 1;
      live.byLoop.set(run.host, counts);
    }
  return live;
}

export async function hostsReport(options: HostsOptions): Promise<HostReport[]> {
  const { config: file } = await openConfig({ cwd: options.cwd, config: options.configPath });
  const live = await liveHosts(options);
  const config = live.records ? followDatabase(file, live.records) : file;
  const differences = live.records ? hostDifferences(file, live.records) : [];
  return Promise.all(
    config.hosts.map(async (h) => {
      const report = await reportHost(config, h, options.timeoutMs ?? 15_000, live);
      const differs = differences.find((d) => d.host === h.name && d.database);
      if (differs) report.note = describeDifference(differs);
      return report;
    }),
  );
}

const gib = (bytes: number | undefined) => (bytes === undefined ? '?' : (bytes / 2 ** 30).toFixed(1));

function gpuText(gpus: GpuReading[] | null | undefined): string {
  if (gpus === null) return 'none (no nvidia-smi)';
  if (gpus === undefined) return '-';
  if (gpus.length === 0) return 'none';
  return gpus
    .map((g) => {
      const util = g.utilization === undefined ? '?' : `${Math.round(g.utilization * 100)}%`;
      return `#${g.index} ${gib(g.memoryUsedBytes)}/${gib(g.memoryTotalBytes)} GiB used, ${gib(g.memoryFreeBytes)} free, ${util}`;
    })
    .join('; ');
}

/** `slots 1/3 used`, or `slots 3` without a loop; usable ones when GPU memory is short. */
function slotsText(r: HostReport): string {
  const { used, effective, configured, vramGbNeeded, byLoop } = r.slots;
  const by = byLoop
    ? ` (${Object.entries(byLoop)
        .map(([loop, n]) => `${n} by ${loop}`)
        .join(', ')})`
    : '';
  const count = used === undefined ? `slots ${configured}` : `slots ${used}/${configured} used${by}`;
  const usable =
    effective < configured ? `, ${effective} usable for ${vramGbNeeded} GB tasks (GPU memory is short)` : '';
  return count + usable;
}

export function formatHosts(reports: HostReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    const latency = r.latencyMs === undefined ? '' : ` ${r.latencyMs} ms`;
    lines.push(
      `${r.name}  ${r.state}${latency}${r.drained ? ', drained' : ''}  ${r.address ?? r.transport}  ${slotsText(r)}`,
    );
    if (r.note) lines.push(`  note: ${r.note}`);
    if (r.error) lines.push(`  error: ${r.error}`);
    if (r.hint) lines.push(`  fix: ${r.hint}`);
    if (r.state === 'up') lines.push(`  gpus: ${gpuText(r.gpus)}`);
    const missing = r.protections.filter((p) => p.startsWith('NOT'));
    const inForce = r.protections.filter((p) => !p.startsWith('NOT'));
    if (inForce.length) lines.push(`  sandbox: ${inForce.join(', ')}`);
    for (const m of missing) lines.push(`  ${m}`);
  }
  if (reports.length > 0 && reports.every((r) => r.slots.used === undefined))
    lines.push('(no loop answered on this store: slots in use are not known)');
  return `${lines.join('\n')}\n`;
}

export interface TrustOptions {
  cwd: string;
  configPath?: string;
  name: string;
}

export interface TrustResult {
  host: string;
  fingerprint: string;
  keyType: string;
  knownHosts: string;
  outcome: 'recorded' | 'already-known' | 'pinned';
}

/** Records the key `name` presents now into its known_hosts; refuses when a different one is there. */
export async function hostsTrust(options: TrustOptions): Promise<TrustResult> {
  const { config } = await openConfig({ cwd: options.cwd, config: options.configPath });
  const host = config.hosts.find((h) => h.name === options.name);
  if (!host) throw new YggError(`no host named ${options.name} in the configuration`);
  if (host.transport !== 'ssh' || !host.ssh)
    throw new YggError(`${host.name} is a local host: there is no host key to trust`);
  const ssh = host.ssh;
  const key = await fetchHostKey(host.name, ssh);
  const presented = fingerprint(key);
  const file = knownHostsPath(ssh);
  const base = { host: host.name, fingerprint: presented, keyType: keyTypeOf(key), knownHosts: file };
  if (ssh.fingerprint) {
    if (ssh.fingerprint !== presented) {
      throw new YggError(`${host.name} presents ${presented}, but hosts.yaml pins ${ssh.fingerprint}`, {
        hint: `Check the key on the host; if it changed on purpose, update hosts.${host.name}.fingerprint in hosts.yaml.`,
      });
    }
    return { ...base, outcome: 'pinned' };
  }
  const pattern = hostPattern(ssh.address, ssh.port);
  const verdict = verifyKnownHost(await readKnownHosts(file), pattern, key);
  if (verdict.kind === 'match') return { ...base, outcome: 'already-known' };
  if (verdict.kind === 'revoked')
    throw new YggError(`${presented} is marked @revoked in ${file}: not trusting it`);
  if (verdict.kind === 'mismatch' && verdict.known.some((k) => k.keyType === base.keyType)) {
    throw new YggError(
      `HOST KEY CHANGED for ${host.name}: ${file} holds another ${base.keyType} key for ${pattern}; not replacing it`,
      {
        hint: `Ask whoever runs the host whether its key changed. Only if it did: ssh-keygen -R '${pattern}' -f ${file}, then run this again.`,
      },
    );
  }
  await appendKnownHost(file, knownHostsLine(pattern, key));
  return { ...base, outcome: 'recorded' };
}

/**
 * The `hosts` command on `program`, made when missing, so subcommands registered elsewhere
 * (`ygg hosts drain NAME`) land under it whatever the registration order. Its own options go
 * before a subcommand: after one (`ygg hosts drain NAME --json`) they are the subcommand's.
 */
export function hostsCommandOf(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'hosts') ?? program.command('hosts').enablePositionalOptions()
  );
}

export function register(program: Command): void {
  const hosts = hostsCommandOf(program)
    .description('Show each host: state, latency, slots, GPUs and the sandbox protections in force.')
    .option('--json', 'print JSON')
    .option('--config <path>', 'hosts.yaml (default: YGG_CONFIG, else beside .beads/, else the shipped one)')
    .option(
      '--store <path>',
      'the Beads file or postgres:// URL whose loops to ask for slots in use, and drained hosts',
    )
    .action(async (flags: { json?: boolean; config?: string; store?: string }) => {
      const reports = await hostsReport({
        cwd: process.cwd(),
        configPath: flags.config,
        ...(flags.store ? { storePath: flags.store } : {}),
      });
      process.stdout.write(flags.json ? `${JSON.stringify(reports, null, 2)}\n` : formatHosts(reports));
      if (reports.some((r) => r.state === 'down')) throw new ExitError(1);
    });
  hosts
    .command('trust <name>')
    .description('Record the key NAME presents now in its known_hosts (check its fingerprint first).')
    .option('--config <path>', 'hosts.yaml')
    .option('--json', 'print {host, fingerprint, keyType, knownHosts, outcome} as one JSON object')
    .action(async (name: string, flags: { config?: string; json?: boolean }) => {
      const result = await hostsTrust({
        cwd: process.cwd(),
        configPath: flags.config ?? hosts.opts<{ config?: string }>().config,
        name,
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      const what = `${result.host}: ${result.keyType} ${result.fingerprint}`;
      const lines = {
        recorded: `recorded ${what} in ${result.knownHosts}\nCompare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub there).`,
        'already-known': `${what} is already in ${result.knownHosts}`,
        pinned: `${what} matches the fingerprint pinned in hosts.yaml; nothing to record`,
      };
      process.stdout.write(`${lines[result.outcome]}\n`);
    });
}
