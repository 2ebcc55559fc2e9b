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
  /** Size of the work directory ygg makes for a command (a size-bounded tmpfs). */
  diskBytes: number;
  /** Cores an attempt may use at most (a cgroup CPU quota); unset: no quota. */
  cpuShare?: number;
  /** Variables set in the sandbox beside PATH, HOME and LANG (nothing else is inherited). */
  env?: Record<string, string>;
  /** Unprivileged user to run as when ygg logs in as root. */
  runAs?: string;
  /** false: no cgroup per command even where the host offers one (a user per slot, else per-user limits). */
  cgroup?: boolean;
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
  /**
   * `types.NAME.sandbox` of each type that sets one, carried here so an attempt on this host
   * merges them: the task's limits, then its type's, then this host's `sandbox`.
   */
  typeSandbox?: Record<string, Partial<SandboxSettings>>;
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
  /** Listed under `types:` in hosts.yaml (not only known from the rules or a built-in name). */
  declared?: boolean;
  /** Eligible hosts in order of preference. */
  hosts: string[];
  /**
   * Attempts and timeouts set for this type in hosts.yaml. Unset, the handler plugin's own
   * defaults apply, then `defaults:` (task > type > plugin > defaults).
   */
  attempts?: number;
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
  /** `queue.lease` was written in hosts.yaml (else the store's default may apply: 15 s on PostgreSQL). */
  leaseSet?: boolean;
  /** Grace period on shutdown before running attempts are aborted. */
  shutdownGraceMs: number;
  /** Label that marks a model request (`model:NAME`). */
  modelLabelPrefix: string;
  maxSize?: number;
  maxPerSubmitter?: number;
  weights: Record<string, number>;
  boostLabel: string;
  rateLimit?: { starts: number; windowMs: number } | { minGapMs: number };
  /** Types whose successful runs count as evaluations (`eval_types`); default: names with `eval` or `grader`. */
  evalTypes?: string[];
}

/** A named tool run on hosts with the `tools` role (`tools:` in hosts.yaml). */
export interface ToolDefinition {
  name: string;
  /** argv template (never a shell string); `{key}` is filled from the call's args or input files. */
  argv: string[];
  /** Files every call needs (key -> local path, resolved against the config folder), put on the tools host; `{key}` names their remote path. */
  files: Record<string, string>;
  /** Wall-clock bound per call. */
  timeoutMs?: number;
  /** Sandbox overrides for this tool; the tools host's sandbox settings apply otherwise. */
  sandbox?: Partial<SandboxSettings>;
}

export interface ToolQueueSettings {
  /** An identical call (name, args, input files) within this time returns the cached result. Default 10 minutes. */
  cacheTtlMs: number;
  /** Tools hosts tried (a host failing mid-call counts one) before the call's result is an error. Default 3. */
  maxAttempts: number;
}

/** `learner:` in hosts.yaml: the learner pinned to one host, and the staleness bounds it implies. */
export interface LearnerSettings {
  /** The only host the learner ever runs on. */
  host: string;
  /** argv template: `{batch}`, `{policy}` (current checkpoint), `{checkpoint}` (where to write the next), `{workdir}`, `{version}`, and keys of `files`. */
  command: string[];
  /** Files the command needs (key -> local path), put in its work directory on the host. */
  files: Record<string, string>;
  /** Fresh trajectories per training step. */
  batchSize: number;
  /** A trajectory more than this many versions older than the policy is not trained on. Default 1. */
  maxStaleness: number;
  /** Rollouts admitted at once. Default 4 * batchSize. */
  maxInflight: number;
  /** Bound on one training run. */
  timeoutMs?: number;
  /** The checkpoint used before the first publication (version 0), when any. */
  initialPolicy?: string;
  /** Replay buffer capacity (scored trajectories kept). Default 1000. */
  replayCapacity: number;
  /** Reward plugins scoring finished rollouts; the reward is their weighted sum. Absent: `tests_passed` alone. */
  rewards?: RewardSettings[];
}

/** `tests_passed`: the fraction of tests the last call of `tool` passed. */
export interface TestsPassedRewardSettings {
  plugin: 'tests_passed';
  /** The key its score is kept under in a trajectory's rewards (`as`; default the plugin's name). */
  name: string;
  /** Multiplies its score in the combined reward. Default 1. */
  weight: number;
  /** Default `run_tests`. */
  tool: string;
}

/** Who declares an ONNX reward's features: a module exporting `rewardFeatures`, or a loaded handler plugin. */
export type RewardFeaturesSource = { module: string } | { plugin: string };

/** `onnx`: a reward model run with onnxruntime-node on `[1, F]` features of the trajectory. */
export interface OnnxRewardSettings {
  plugin: 'onnx';
  name: string;
  weight: number;
  /** The model file (resolved against the config folder). */
  model: string;
  features: RewardFeaturesSource;
  /** The model's input name. Default `features`. */
  input: string;
  /** The output read (default: the model's first). */
  output?: string;
}

export type RewardSettings = TestsPassedRewardSettings | OnnxRewardSettings;

/** `notify:` in hosts.yaml: a command and/or webhook run on dead letters and host changes. */
export interface NotifySettings {
  /** argv run with the event as JSON on stdin. */
  command?: string[];
  /** URL the event is POSTed to as JSON. */
  webhook?: string;
  /** Events that notify. Default: all three. */
  on: Array<'dead' | 'host-down' | 'host-up'>;
}

/** Limits on one kind of file in `.ygg/`: past either, the oldest go first. */
export interface RetentionLimit {
  /** Bytes the kind may use in all. */
  maxBytes: number;
  /** Items not written for longer than this are removed. */
  maxAgeMs: number;
}

/** `retention:` in hosts.yaml: what `.ygg/` may hold while `ygg loop` runs unattended. */
export interface RetentionSettings {
  /** Time between two sweeps. Default 10 minutes. */
  intervalMs: number;
  /** Task artifacts (`artifacts/TASK/ATTEMPT`), `ygg run` folders, policy checkpoints. Default 1 GiB, 30 days. */
  artifacts: RetentionLimit;
  /** Trajectory log segments and learner batch files. Default 1 GiB, 90 days. */
  trajectories: RetentionLimit;
  /** Files in `.ygg/logs/`. Default 256 MiB, 30 days. */
  logs: RetentionLimit;
}

export interface StatusSettings {
  host: string;
  port: number;
  /** Host names requests may name besides loopback and, on a LAN bind, this machine's addresses. */
  names: string[];
}

export interface YggConfig {
  /** `store:` as written (a path relative to the file, or a postgres:// URL), when set. */
  store?: string;
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
  /** Named tools run on `tools` hosts (empty when none). */
  tools?: Record<string, ToolDefinition>;
  toolQueue?: ToolQueueSettings;
  /** The RL learner, when configured. */
  learner?: LearnerSettings;
  /** Notifications, when configured. */
  notify?: NotifySettings;
  /** Bounds on `.ygg/` (always set: defaults fit a small disk). */
  retention: RetentionSettings;
  defaults: {
    attempts: number;
    backoff: BackoffSettings;
    timeoutMs?: number;
    hardTimeoutMs?: number;
    sandbox: SandboxSettings;
  };
  /** `HOST:PORT`s probed for a model server for local hosts without `model:` (empty: never). */
  discoverModels: string[];
  /** The file it was read from, when any. */
  sourcePath?: string;
}
