/**
 * The sandbox a task's command runs in, from four layers: the host's `sandbox` settings, its
 * type's `types.NAME.sandbox` over them, what the handler asks for (`ctx.exec(..., { sandbox })`)
 * over those, and last the task's own `metadata.ygg.limits`, which may only tighten: a lower
 * limit is taken, a higher one is not, and `network: true` keeps the network only where the
 * layers below allow it.
 */
import type { SandboxSettings } from '../config/types.js';
import {
  durationHint,
  durationPattern,
  parseDuration,
  parseSize,
  sizeHint,
  sizePattern,
} from '../config/units.js';
import { NonRetryableError } from '../errors.js';
import type { SandboxRequest } from './transport.js';

/** `metadata.ygg.limits` after validation, in bytes and seconds. */
export type TaskLimits = Pick<
  SandboxRequest,
  'network' | 'memoryBytes' | 'cpuSeconds' | 'fileSizeBytes' | 'processes' | 'tmpBytes' | 'diskBytes'
>;

/** The keys a task may set: those of hosts.yaml's `sandbox` that bound a command. */
export const TASK_LIMIT_KEYS = ['network', 'memory', 'cpu', 'file_size', 'processes', 'tmp', 'disk'] as const;

/** Keys of hosts.yaml's `sandbox` that only the operator sets. */
const OPERATOR_KEYS = new Set(['enabled', 'run_as', 'work_root', 'cpu_share', 'env', 'cgroup']);

/** Spellings a submitter may try, and the key meant. */
const MEANT: Record<string, string> = {
  memoryBytes: 'memory',
  memory_bytes: 'memory',
  cpuSeconds: 'cpu',
  cpu_seconds: 'cpu',
  fileSizeBytes: 'file_size',
  fileSize: 'file_size',
  tmpBytes: 'tmp',
  tmp_bytes: 'tmp',
  diskBytes: 'disk',
  disk_bytes: 'disk',
};

const where = (key: string) => `metadata.ygg.limits.${key}`;
const keyList = `${TASK_LIMIT_KEYS.slice(0, -1).join(', ')} or ${TASK_LIMIT_KEYS.at(-1)}`;

function size(key: string, value: unknown, allowZero: boolean): number {
  const ok =
    (typeof value === 'number' && Number.isInteger(value) && value >= 0) ||
    (typeof value === 'string' && sizePattern.test(value.trim()));
  if (!ok) throw new NonRetryableError(`${where(key)}: ${JSON.stringify(value)}: ${sizeHint}`);
  const bytes = parseSize(value as number | string);
  if (bytes === 0 && !allowZero) throw new NonRetryableError(`${where(key)}: expected more than 0`);
  return bytes;
}

function seconds(key: string, value: unknown): number {
  const ok =
    (typeof value === 'number' && Number.isFinite(value) && value > 0) ||
    (typeof value === 'string' && durationPattern.test(value.trim()));
  if (!ok) throw new NonRetryableError(`${where(key)}: ${JSON.stringify(value)}: ${durationHint}`);
  const ms = parseDuration(value as number | string);
  if (ms <= 0) throw new NonRetryableError(`${where(key)}: expected more than 0`);
  // As hosts.yaml's `cpu`: whole seconds, rounded up.
  return Math.ceil(ms / 1000);
}

/**
 * Validates a task's `metadata.ygg.limits` (hosts.yaml's sandbox keys and units: `memory: 512M`,
 * `cpu: 30s`, `file_size`, `processes`, `tmp`, `disk`, `network`). Throws a `NonRetryableError` naming
 * the key for anything else.
 */
export function parseTaskLimits(value: unknown): TaskLimits {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new NonRetryableError(
      `metadata.ygg.limits: expected an object of sandbox limits like {"memory": "512M", "cpu": "30s"}, not ${JSON.stringify(value)}`,
    );
  }
  const limits: TaskLimits = {};
  for (const [key, raw] of Object.entries(value)) {
    switch (key) {
      case 'network':
        if (typeof raw !== 'boolean')
          throw new NonRetryableError(`${where(key)}: expected true or false, not ${JSON.stringify(raw)}`);
        limits.network = raw;
        break;
      case 'memory':
        limits.memoryBytes = size(key, raw, false);
        break;
      case 'cpu':
        limits.cpuSeconds = seconds(key, raw);
        break;
      case 'file_size':
        limits.fileSizeBytes = size(key, raw, true);
        break;
      case 'processes':
        if (typeof raw !== 'number' || !Number.isInteger(raw) || raw <= 0)
          throw new NonRetryableError(
            `${where(key)}: expected a positive integer, not ${JSON.stringify(raw)}`,
          );
        limits.processes = raw;
        break;
      case 'tmp':
        limits.tmpBytes = size(key, raw, false);
        break;
      case 'disk':
        limits.diskBytes = size(key, raw, false);
        break;
      default: {
        const why = OPERATOR_KEYS.has(key)
          ? 'only hosts.yaml sets it, for a host or a type'
          : MEANT[key]
            ? `unknown key (did you mean ${MEANT[key]}?)`
            : 'unknown key';
        throw new NonRetryableError(`${where(key)}: ${why}; a task may set ${keyList}`);
      }
    }
  }
  return limits;
}

const lower = (allowed: number, asked: number | undefined) =>
  asked === undefined ? allowed : Math.min(allowed, asked);

/**
 * The sandbox request for one command of a task: `host` (the host's settings), `type` (its
 * type's overrides) and `handler` (what the handler asked for) each over the one before, then
 * the task's limits, which only tighten.
 */
export function sandboxRequestFor(
  host: SandboxSettings,
  type: Partial<SandboxSettings> | undefined,
  handler: boolean | SandboxRequest,
  task: TaskLimits,
): SandboxRequest {
  const allowed: SandboxSettings = { ...host, ...type };
  const asked: SandboxRequest = typeof handler === 'object' ? handler : {};
  const request: SandboxRequest = {
    ...asked,
    enabled: asked.enabled ?? allowed.enabled,
    workRoot: asked.workRoot ?? allowed.workRoot,
    network: (asked.network ?? allowed.network) && task.network !== false,
    memoryBytes: lower(asked.memoryBytes ?? allowed.memoryBytes, task.memoryBytes),
    cpuSeconds: lower(asked.cpuSeconds ?? allowed.cpuSeconds, task.cpuSeconds),
    fileSizeBytes: lower(asked.fileSizeBytes ?? allowed.fileSizeBytes, task.fileSizeBytes),
    processes: lower(asked.processes ?? allowed.processes, task.processes),
    tmpBytes: lower(asked.tmpBytes ?? allowed.tmpBytes, task.tmpBytes),
    diskBytes: lower(asked.diskBytes ?? allowed.diskBytes, task.diskBytes),
  };
  const cpuShare = asked.cpuShare ?? allowed.cpuShare;
  if (cpuShare !== undefined) request.cpuShare = cpuShare;
  const env = asked.env ?? allowed.env;
  if (env !== undefined) request.env = env;
  const runAs = asked.runAs ?? allowed.runAs;
  if (runAs !== undefined) request.runAs = runAs;
  const cgroup = asked.cgroup ?? allowed.cgroup;
  if (cgroup !== undefined) request.cgroup = cgroup;
  return request;
}
