/**
 * The normalized configuration every part of ygg reads. `hosts.yaml` is parsed and validated
 * into this shape by src/config (YAML keys are snake_case; durations become milliseconds).
 */

export type HostRole = 'inference' | 'tools' | 'learner';

export interface SshSettings {
  address: string;
  port: number;
  user: string;
  /** Private key file; when absent the SSH agent (SSH_AUTH_SOCK) is used. */
  keyFile?: string;
  /** known_hosts file checked for the host key (default ~/.ssh/known_hosts). */
  knownHosts?: string;
  /** A pinned host key fingerprint, `SHA256:...`; wins over knownHosts. */
  fingerprint?: string;
  /** Keepalive interval. */
  keepaliveMs: number;
  /** Channels opened at once on one connection before another connection is opened. */
  maxChannelsPerConnection: number;
  connectTimeoutMs: number;
}

export interface SandboxSettings {
  /** Use bubblewrap where the host has it. */
  enabled: boolean;
  network: boolean;
  memoryBytes: number;
  cpuSeconds: number;
  fileSizeBytes: number;
  processes: number;
  tmpBytes: number;
  /** Unprivileged user to run as when ygg logs in as root. */
  runAs?: string;
  /** Parent of the per-attempt work directories on the host. */
  workRoot: string;
}

export interface ModelEndpoint {
  api: 'ollama' | 'openai';
  url: string;
  model: string;
  apiKeyEnv?: string;
  options?: Record<string, unknown>;
  connectTimeoutMs: number;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
}

export interface GpuSlotBinding {
  /** GPU indices on the host; slots are spread over them. */
  gpus: number[];
  /** Slots per GPU. */
  perGpu: number;
}

export interface HostConfig {
  name: string;
  transport: 'local' | 'ssh';
  ssh?: SshSettings;
  slots: number;
  roles: HostRole[];
  /** Total GPU memory, when declared. */
  gpuMemoryGb?: number;
  gpuBinding?: GpuSlotBinding;
  model?: ModelEndpoint;
  /** Per-type endpoint overrides on this host. */
  typeModels: Record<string, ModelEndpoint>;
  sandbox: SandboxSettings;
  /** Health probe interval and failures before the host is down. */
  probeIntervalMs: number;
  probeFailures: number;
}

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: fraction of the delay drawn at random. */
  jitter: number;
}

export interface TypeConfig {
  name: string;
  /** Eligible hosts in order of preference. */
  hosts: string[];
  attempts: number;
  backoff: BackoffSettings;
  /** Soft timeout: the handler's signal aborts. */
  timeoutMs?: number;
  /** Hard timeout: the work is killed and the attempt fails. */
  hardTimeoutMs?: number;
  vramGb?: number;
  handler?: string;
  maxConcurrent?: number;
  /** Expected run time, overall or per host, used before history exists. */
  estimateMs?: number;
  estimateMsByHost: Record<string, number>;
  releaseSlotOnTool: boolean;
  sandbox?: Partial<SandboxSettings>;
}

export interface TypeRule {
  type: string;
  labels: string[];
  titlePrefixes: string[];
  titleContains: string[];
  issueTypes: string[];
}

export interface QueueSettings {
  /** `fifo`: oldest first within a priority; `makespan`: longest expected first, to the host expected to finish soonest. */
  order: 'fifo' | 'makespan';
  strategy: 'fifo' | 'priority' | 'fair';
  /** Safety-net poll of the store, besides the file watch. */
  pollIntervalMs: number;
  leaseMs: number;
  /** Grace period on shutdown before running attempts are aborted. */
  shutdownGraceMs: number;
  /** Label that marks a model request (`model:NAME`). */
  modelLabelPrefix: string;
  maxSize?: number;
  maxPerSubmitter?: number;
  weights: Record<string, number>;
  boostLabel: string;
  rateLimit?: { starts: number; windowMs: number } | { minGapMs: number };
}

export interface StatusSettings {
  host: string;
  port: number;
}

export interface YggConfig {
  /** Hosts in file order. */
  hosts: HostConfig[];
  types: Record<string, TypeConfig>;
  /** Rules tried in order; the first match names the type; none matching gives `general`. */
  typeRules: TypeRule[];
  /** Beads `issue_type` values mapped straight to a type. */
  issueTypeMap: Record<string, string>;
  queue: QueueSettings;
  /** Extra plugin directories, resolved against the config file's folder. */
  pluginDirs: string[];
  status: StatusSettings;
  defaults: {
    attempts: number;
    backoff: BackoffSettings;
    timeoutMs?: number;
    hardTimeoutMs?: number;
    sandbox: SandboxSettings;
  };
  /** The file it was read from, when any. */
  sourcePath?: string;
}
