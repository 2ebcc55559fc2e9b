/**
 * hosts.yaml as written (validated by the schema) into the YggConfig every part reads: defaults
 * applied, durations in milliseconds, sizes in bytes, local paths resolved against the file's folder.
 */
import { homedir, userInfo } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { configDefaults as d } from './defaults.js';
import type { HostEntry, HostsFile, ModelEntry, RewardEntry, SandboxEntry, TypeEntry } from './schema.js';
import { defaultTypeRules, fallbackType } from './type-rules.js';
import type {
  BackoffSettings,
  HostConfig,
  ModelEndpoint,
  RetentionLimit,
  RetentionSettings,
  RewardSettings,
  SandboxSettings,
  TypeConfig,
  TypeRule,
  YggConfig,
} from './types.js';
import { parseDuration, parseSize } from './units.js';

/** A local path from the file: `~` is home, relative paths are relative to the file's folder. */
export function resolveLocalPath(path: string, baseDir: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

const ms = (value: number | string | undefined): number | undefined =>
  value === undefined ? undefined : parseDuration(value);

const bytes = (value: number | string | undefined): number | undefined =>
  value === undefined ? undefined : parseSize(value);

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export function sandboxPartial(entry: SandboxEntry | undefined): Partial<SandboxSettings> {
  if (!entry) return {};
  const out: Partial<SandboxSettings> = {};
  if (entry.enabled !== undefined) out.enabled = entry.enabled;
  if (entry.network !== undefined) out.network = entry.network;
  if (entry.memory !== undefined) out.memoryBytes = parseSize(entry.memory);
  if (entry.cpu !== undefined) out.cpuSeconds = Math.ceil(parseDuration(entry.cpu) / 1000);
  if (entry.file_size !== undefined) out.fileSizeBytes = parseSize(entry.file_size);
  if (entry.processes !== undefined) out.processes = entry.processes;
  if (entry.tmp !== undefined) out.tmpBytes = parseSize(entry.tmp);
  if (entry.disk !== undefined) out.diskBytes = parseSize(entry.disk);
  if (entry.cpu_share !== undefined) out.cpuShare = entry.cpu_share;
  if (entry.env !== undefined) out.env = { ...entry.env };
  if (entry.run_as !== undefined) out.runAs = entry.run_as;
  if (entry.cgroup !== undefined) out.cgroup = entry.cgroup;
  if (entry.work_root !== undefined) out.workRoot = entry.work_root;
  return out;
}

function backoff(base: BackoffSettings, entry: TypeEntry['backoff']): BackoffSettings {
  return {
    baseMs: ms(entry?.base) ?? base.baseMs,
    maxMs: ms(entry?.max) ?? base.maxMs,
    factor: entry?.factor ?? base.factor,
    jitter: entry?.jitter ?? base.jitter,
  };
}

/** A host's endpoint, or a per-type one merged over it; undefined when api, url or model is missing. */
export function modelEndpoint(
  host: ModelEntry | undefined,
  override: Partial<ModelEntry> = {},
): ModelEndpoint | undefined {
  const merged = { ...host, ...override, timeouts: { ...host?.timeouts, ...override.timeouts } };
  if (!merged.api || !merged.url || !merged.model) return undefined;
  const endpoint: ModelEndpoint = {
    api: merged.api,
    url: merged.url,
    model: merged.model,
    connectTimeoutMs: ms(merged.timeouts.connect) ?? d.model.connectTimeoutMs,
    firstTokenTimeoutMs: ms(merged.timeouts.first_token) ?? d.model.firstTokenTimeoutMs,
    idleTimeoutMs: ms(merged.timeouts.idle) ?? d.model.idleTimeoutMs,
    totalTimeoutMs: ms(merged.timeouts.total) ?? d.model.totalTimeoutMs,
  };
  if (merged.api_key_env) endpoint.apiKeyEnv = merged.api_key_env;
  if (merged.options) endpoint.options = merged.options;
  return endpoint;
}

/** GPU indices named by `gpus` (a count means 0..N-1). */
export function gpuIndices(gpus: HostEntry['gpus']): number[] | undefined {
  if (gpus === undefined) return undefined;
  return typeof gpus === 'number' ? Array.from({ length: gpus }, (_, i) => i) : gpus;
}

function host(name: string, entry: HostEntry, sandboxBase: SandboxSettings, baseDir: string): HostConfig {
  const gpus = gpuIndices(entry.gpus);
  const perGpu = entry.slots_per_gpu ?? d.host.slotsPerGpu;
  const config: HostConfig = {
    name,
    transport: entry.transport ?? d.host.transport,
    slots: entry.slots ?? (gpus ? gpus.length * perGpu : d.host.slots),
    roles: entry.roles ?? [...d.host.roles],
    typeModels: {},
    sandbox: { ...sandboxBase, ...sandboxPartial(entry.sandbox) },
    probeIntervalMs: ms(entry.probe_interval) ?? d.host.probeIntervalMs,
    probeFailures: entry.probe_failures ?? d.host.probeFailures,
  };
  if (config.transport === 'ssh') {
    config.ssh = {
      address: entry.address ?? name,
      port: entry.port ?? d.ssh.port,
      user: entry.user ?? userInfo().username,
      keepaliveMs: ms(entry.keepalive) ?? d.ssh.keepaliveMs,
      maxChannelsPerConnection: entry.max_channels ?? d.ssh.maxChannelsPerConnection,
      connectTimeoutMs: ms(entry.connect_timeout) ?? d.ssh.connectTimeoutMs,
    };
    if (entry.key) config.ssh.keyFile = resolveLocalPath(entry.key, baseDir);
    if (entry.known_hosts) config.ssh.knownHosts = resolveLocalPath(entry.known_hosts, baseDir);
    if (entry.fingerprint) config.ssh.fingerprint = entry.fingerprint;
  }
  if (entry.gpu_memory_gb !== undefined) config.gpuMemoryGb = entry.gpu_memory_gb;
  if (gpus) config.gpuBinding = { gpus, perGpu };
  const model = modelEndpoint(entry.model);
  if (model) config.model = model;
  for (const [type, override] of Object.entries(entry.models_by_type ?? {})) {
    const endpoint = modelEndpoint(entry.model, override);
    if (endpoint) config.typeModels[type] = endpoint;
  }
  return config;
}

function typeRules(file: HostsFile): TypeRule[] {
  const fromFile = (file.type_rules ?? []).map(
    (r): TypeRule => ({
      type: r.type,
      labels: list(r.labels),
      titlePrefixes: list(r.title_prefix),
      titleContains: list(r.title_contains),
      issueTypes: list(r.issue_type),
    }),
  );
  return [...fromFile, ...defaultTypeRules.map((r) => ({ ...r }))];
}

/** Every type a task can get: listed ones, those the rules and issue_types name, and the fallback. */
export function knownTypeNames(file: HostsFile, rules: readonly TypeRule[]): string[] {
  const names = new Set(Object.keys(file.types ?? {}));
  for (const r of rules) names.add(r.type);
  for (const type of Object.values(file.issue_types ?? {})) names.add(type);
  names.add(fallbackType);
  return [...names];
}

function typeConfig(
  name: string,
  entry: TypeEntry,
  defaults: YggConfig['defaults'],
  inferenceHosts: string[],
): TypeConfig {
  const config: TypeConfig = {
    name,
    hosts: entry.hosts ?? [...inferenceHosts],
    backoff: backoff(defaults.backoff, entry.backoff),
    estimateMsByHost: {},
    releaseSlotOnTool: entry.release_slot_on_tool ?? d.type.releaseSlotOnTool,
  };
  if (entry.attempts !== undefined) config.attempts = entry.attempts;
  const timeoutMs = ms(entry.timeout);
  const hardTimeoutMs = ms(entry.hard_timeout);
  if (timeoutMs !== undefined) config.timeoutMs = timeoutMs;
  if (hardTimeoutMs !== undefined) config.hardTimeoutMs = hardTimeoutMs;
  if (entry.vram_gb !== undefined) config.vramGb = entry.vram_gb;
  if (entry.handler !== undefined) config.handler = entry.handler;
  if (entry.max_concurrent !== undefined) config.maxConcurrent = entry.max_concurrent;
  if (typeof entry.estimate === 'object') {
    for (const [host, value] of Object.entries(entry.estimate))
      config.estimateMsByHost[host] = parseDuration(value);
  } else if (entry.estimate !== undefined) {
    config.estimateMs = parseDuration(entry.estimate);
  }
  if (entry.sandbox) config.sandbox = sandboxPartial(entry.sandbox);
  return config;
}

function queue(entry: HostsFile['queue'] = {}): YggConfig['queue'] {
  const config: YggConfig['queue'] = {
    order: entry.order ?? d.queue.order,
    strategy: entry.strategy ?? d.queue.strategy,
    pollIntervalMs: ms(entry.poll_interval) ?? d.queue.pollIntervalMs,
    leaseMs: ms(entry.lease) ?? d.queue.leaseMs,
    shutdownGraceMs: ms(entry.shutdown_grace) ?? d.queue.shutdownGraceMs,
    modelLabelPrefix: entry.model_label_prefix ?? d.queue.modelLabelPrefix,
    weights: { ...entry.weights },
    boostLabel: entry.boost_label ?? d.queue.boostLabel,
  };
  if (entry.lease !== undefined) config.leaseSet = true;
  if (entry.max_size !== undefined) config.maxSize = entry.max_size;
  if (entry.max_per_submitter !== undefined) config.maxPerSubmitter = entry.max_per_submitter;
  if (entry.eval_types !== undefined) config.evalTypes = [...entry.eval_types];
  const rate = entry.rate_limit;
  if (rate && 'starts' in rate)
    config.rateLimit = { starts: rate.starts, windowMs: parseDuration(rate.window) };
  else if (rate) config.rateLimit = { minGapMs: parseDuration(rate.min_gap) };
  return config;
}

function files(entry: Record<string, string> | undefined, baseDir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(entry ?? {}).map(([k, p]) => [k, resolveLocalPath(p, baseDir)]));
}

/** `features:` of an onnx reward: a module path (it has a slash or a module extension), else a plugin name. */
const modulePath = /[/\\]|\.(?:m?[jt]s|cjs)$/;

/** `learner.rewards` (without the key the pipeline scores with `tests_passed` alone). */
function rewards(entries: RewardEntry[], baseDir: string): RewardSettings[] {
  const r = d.reward;
  return entries.map((e): RewardSettings => {
    const common = { name: e.as ?? e.name, weight: e.weight ?? r.weight };
    if (e.name === 'tests_passed') return { plugin: 'tests_passed', ...common, tool: e.tool ?? r.tool };
    // The schema made sure an onnx entry has its model and features.
    const features = e.features!;
    const reward: RewardSettings = {
      plugin: 'onnx',
      ...common,
      model: resolveLocalPath(e.model!, baseDir),
      features: modulePath.test(features)
        ? { module: resolveLocalPath(features, baseDir) }
        : { plugin: features },
      input: e.input ?? r.onnxInput,
    };
    if (e.output !== undefined) reward.output = e.output;
    return reward;
  });
}

/** Pipeline sections: tools, tool queue, learner, notify. */
function pipeline(
  file: HostsFile,
  baseDir: string,
): Pick<YggConfig, 'tools' | 'toolQueue' | 'learner' | 'notify'> {
  const out: Pick<YggConfig, 'tools' | 'toolQueue' | 'learner' | 'notify'> = {
    tools: {},
    toolQueue: {
      cacheTtlMs: ms(file.tool_queue?.cache_ttl) ?? d.toolQueue.cacheTtlMs,
      maxAttempts: file.tool_queue?.max_attempts ?? d.toolQueue.maxAttempts,
    },
  };
  for (const [name, tool] of Object.entries(file.tools ?? {})) {
    out.tools![name] = { name, argv: tool.argv, files: files(tool.files, baseDir) };
    const timeoutMs = ms(tool.timeout);
    if (timeoutMs !== undefined) out.tools![name].timeoutMs = timeoutMs;
    if (tool.sandbox) out.tools![name].sandbox = sandboxPartial(tool.sandbox);
  }
  const l = file.learner;
  if (l) {
    const batchSize = l.batch_size ?? d.learner.batchSize;
    out.learner = {
      host: l.host,
      command: l.command,
      files: files(l.files, baseDir),
      batchSize,
      maxStaleness: l.max_staleness ?? d.learner.maxStaleness,
      maxInflight: l.max_inflight ?? 4 * batchSize,
      replayCapacity: l.replay_capacity ?? d.learner.replayCapacity,
    };
    if (l.rewards) out.learner.rewards = rewards(l.rewards, baseDir);
    const timeoutMs = ms(l.timeout);
    if (timeoutMs !== undefined) out.learner.timeoutMs = timeoutMs;
    if (l.initial_policy) out.learner.initialPolicy = resolveLocalPath(l.initial_policy, baseDir);
  }
  const n = file.notify;
  if (n) {
    out.notify = { on: n.on ?? [...d.notify.on] };
    if (n.command) out.notify.command = n.command;
    if (n.webhook) out.notify.webhook = n.webhook;
  }
  return out;
}

function retention(entry: HostsFile['retention'] = {}): RetentionSettings {
  const limit = (kind: 'artifacts' | 'trajectories' | 'logs'): RetentionLimit => ({
    maxBytes: bytes(entry[kind]?.max_bytes) ?? d.retention[kind].maxBytes,
    maxAgeMs: ms(entry[kind]?.max_age) ?? d.retention[kind].maxAgeMs,
  });
  return {
    intervalMs: ms(entry.interval) ?? d.retention.intervalMs,
    artifacts: limit('artifacts'),
    trajectories: limit('trajectories'),
    logs: limit('logs'),
  };
}

/** The normalized config; assumes the schema passed (rule checks report the rest). */
export function normalize(file: HostsFile, baseDir: string, sourcePath?: string): YggConfig {
  const fileDefaults = file.defaults ?? {};
  const sandbox: SandboxSettings = { ...d.sandbox, ...sandboxPartial(fileDefaults.sandbox) };
  const defaults: YggConfig['defaults'] = {
    attempts: fileDefaults.attempts ?? d.attempts,
    backoff: backoff(d.backoff, fileDefaults.backoff),
    sandbox,
  };
  const timeoutMs = ms(fileDefaults.timeout);
  const hardTimeoutMs = ms(fileDefaults.hard_timeout);
  if (timeoutMs !== undefined) defaults.timeoutMs = timeoutMs;
  if (hardTimeoutMs !== undefined) defaults.hardTimeoutMs = hardTimeoutMs;

  const hosts = Object.entries(file.hosts ?? {}).map(([name, entry]) => host(name, entry, sandbox, baseDir));
  const inferenceHosts = hosts.filter((h) => h.roles.includes('inference')).map((h) => h.name);
  const rules = typeRules(file);
  const types: Record<string, TypeConfig> = {};
  for (const name of knownTypeNames(file, rules)) {
    types[name] = typeConfig(name, file.types?.[name] ?? {}, defaults, inferenceHosts);
    if (file.types?.[name]) types[name].declared = true;
  }
  const typeSandbox = Object.fromEntries(
    Object.values(types).flatMap((t) => (t.sandbox ? [[t.name, t.sandbox] as const] : [])),
  );
  if (Object.keys(typeSandbox).length > 0) for (const h of hosts) h.typeSandbox = typeSandbox;
  const config: YggConfig = {
    hosts,
    types,
    typeRules: rules,
    issueTypeMap: { ...file.issue_types },
    queue: queue(file.queue),
    pluginDirs: (file.plugins?.dirs ?? []).map((dir) => resolveLocalPath(dir, baseDir)),
    status: {
      host: file.status?.host ?? d.status.host,
      port: file.status?.port ?? d.status.port,
      names: file.status?.names ?? d.status.names,
    },
    defaults,
    retention: retention(file.retention),
    discoverModels:
      file.discover_models === false
        ? []
        : Array.isArray(file.discover_models)
          ? file.discover_models
          : [...d.discoverModels],
    ...pipeline(file, baseDir),
  };
  if (sourcePath) config.sourcePath = sourcePath;
  if (file.store)
    config.store = /^postgres(ql)?:\/\//i.test(file.store)
      ? file.store
      : resolveLocalPath(file.store, baseDir);
  return config;
}
