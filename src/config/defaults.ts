/**
 * Every default of hosts.yaml in one place. The schema's descriptions (and so the JSON schema
 * and `ygg config schema`) quote these; normalize.ts applies them.
 */
import type { BackoffSettings, HostRole, SandboxSettings } from './types.js';

export const configDefaults = {
  host: {
    /** `transport`: how ygg reaches the host. */
    transport: 'local' as const,
    /** `roles`: what the host does. */
    roles: ['inference'] as HostRole[],
    /** `slots`: tasks run at once (when `gpus` is set: GPUs x `slots_per_gpu`). */
    slots: 1,
    /** `slots_per_gpu`: slots bound to each GPU listed in `gpus`. */
    slotsPerGpu: 1,
    /** `probe_interval`: time between health probes. */
    probeIntervalMs: 10_000,
    /** `probe_failures`: failed probes in a row before the host is down. */
    probeFailures: 3,
  },
  ssh: {
    /** `port`. */
    port: 22,
    /** `keepalive`: SSH keepalive interval. */
    keepaliveMs: 15_000,
    /** `max_channels`: channels on one connection before another opens (half of sshd's MaxSessions 10). */
    maxChannelsPerConnection: 5,
    /** `connect_timeout`. */
    connectTimeoutMs: 10_000,
  },
  /** `discover_models: true`: Ollama's port, then llama.cpp's and most OpenAI-compatible servers'. */
  discoverModels: ['127.0.0.1:11434', '127.0.0.1:8080'],
  model: {
    /** `timeouts.connect`. */
    connectTimeoutMs: 10_000,
    /** `timeouts.first_token`. */
    firstTokenTimeoutMs: 120_000,
    /** `timeouts.idle`: longest silence between two tokens. */
    idleTimeoutMs: 60_000,
    /** `timeouts.total`. */
    totalTimeoutMs: 1_800_000,
  },
  sandbox: {
    enabled: true,
    network: false,
    memoryBytes: 2 * 2 ** 30,
    cpuSeconds: 600,
    fileSizeBytes: 2 ** 30,
    processes: 256,
    tmpBytes: 256 * 2 ** 20,
    diskBytes: 2 ** 30,
    workRoot: '/tmp/ygg-work',
  } satisfies SandboxSettings,
  /** `attempts`: runs of a task before it is dead-lettered. */
  attempts: 3,
  backoff: { baseMs: 1_000, maxMs: 300_000, factor: 2, jitter: 0.2 } satisfies BackoffSettings,
  type: {
    /** `release_slot_on_tool`: free the GPU slot while a tool call runs. */
    releaseSlotOnTool: true,
  },
  queue: {
    order: 'fifo' as const,
    strategy: 'priority' as const,
    pollIntervalMs: 30_000,
    leaseMs: 60_000,
    shutdownGraceMs: 30_000,
    modelLabelPrefix: 'model:',
    boostLabel: 'boost',
  },
  status: { host: '127.0.0.1', port: 7467, names: [] },
  toolQueue: {
    /** `cache_ttl`: an identical call within this time returns the cached result. */
    cacheTtlMs: 600_000,
    /** `max_attempts`: tools hosts tried before the call result is an error. */
    maxAttempts: 3,
  },
  /** `max_inflight` defaults to 4 x `batch_size`. */
  learner: { batchSize: 8, maxStaleness: 1, replayCapacity: 1000 },
  /** `learner.rewards` entries: their weight, tests_passed's tool, onnx's input name. */
  reward: { weight: 1, tool: 'run_tests', onnxInput: 'features' },
  /**
   * `retention`: what `.ygg/` may hold, sized for a small disk (about 2.3 GiB in all). The loop
   * removes the oldest items past either limit; the newest of each place is always kept.
   */
  retention: {
    /** `interval`: time between two sweeps while `ygg loop` runs. */
    intervalMs: 600_000,
    /** `artifacts`: task output kept as files, `ygg run` folders, policy checkpoints. */
    artifacts: { maxBytes: 2 ** 30, maxAgeMs: 30 * 86_400_000 },
    /** `trajectories`: the trajectory log's segments and the learner's batch files. */
    trajectories: { maxBytes: 2 ** 30, maxAgeMs: 90 * 86_400_000 },
    /** `logs`: files in `.ygg/logs/`. */
    logs: { maxBytes: 256 * 2 ** 20, maxAgeMs: 30 * 86_400_000 },
  },
  notify: { on: ['dead', 'host-down', 'host-up'] as Array<'dead' | 'host-down' | 'host-up'> },
};
