/**
 * One attempt's life: build the handler's context, run it under soft and hard timeouts, and
 * turn how it ended into an outcome. It writes nothing to the store; the loop does.
 *
 *   running ──soft timeout──▶ signal aborted ──handler returns/throws──▶ ended
 *      │                           └──hard timeout──▶ killed (outcome: hard-timeout)
 *      └──cancel / shutdown / lease lost──▶ signal aborted ──▶ ended with that reason
 */
import { mkdirSync } from 'node:fs';
import type { HostConfig } from '../config/types.js';
import { NonRetryableError, toError } from '../errors.js';
import { attemptMarkerVar } from '../hosts/end-attempt.js';
import { parseTaskLimits, sandboxRequestFor, type TaskLimits } from '../hosts/task-limits.js';
import type { ExecOptions, ExecResult, Transport } from '../hosts/transport.js';
import type { FailureReason } from '../observe/events.js';
import type { HandlerContext, HandlerLogger, HandlerResult, Plugin } from '../plugins/api.js';
import { type Task, yggOf } from '../store/task.js';
import { type Clock, systemClock } from './clock.js';

/** Why the loop stopped an attempt from outside. */
export type StopReason = 'cancelled' | 'shutdown' | 'lease-lost' | 'host-down';

export type AttemptOutcome =
  | { kind: 'succeeded'; result: HandlerResult; runMs: number }
  | { kind: 'failed'; error: Error; reason: FailureReason; retryable: boolean; runMs: number }
  | { kind: 'stopped'; reason: StopReason; by: string; runMs: number };

export interface AttemptSpec {
  task: Task;
  type: string;
  plugin: Plugin;
  host: HostConfig;
  transport: Transport;
  attempt: number;
  gpus: readonly number[];
  /** The slot it holds on the host: its sandboxed commands run as that slot's user where there is one. */
  slotIndex?: number;
  /** `YGG_ATTEMPT`'s value in its commands' environment: a later loop can end them by it. */
  marker?: string;
  artifactsDir: string;
  /** Timeouts and run times are measured on it (the loop's clock; default the system's). */
  clock?: Clock;
  timeoutMs?: number;
  hardTimeoutMs?: number;
  log: HandlerLogger;
  onProgress(text: string, fraction?: number): void;
  onHeartbeat(): void;
  /** Extra context members (model endpoint, tool queue, ONNX, policy) added by later parts. */
  extend?: (ctx: HandlerContext, control: AttemptControl) => void;
}

/** Handle the loop keeps to stop a running attempt. */
export interface AttemptControl {
  stop(reason: StopReason, by: string): void;
  readonly signal: AbortSignal;
}

/** Extra time a handler gets after its soft timeout before it is killed, when no hard timeout is set. */
export const defaultHardGraceMs = 10_000;

/** The reason the attempt's signals carry when its time ran out, so a command cut short says so. */
class AttemptTimeout extends Error {
  override readonly name: string = 'AttemptTimeout';
  constructor(
    readonly which: 'soft' | 'hard',
    readonly limitMs: number,
  ) {
    super(`${which} timeout: ${limitMs} ms`);
  }
}

/** The time an attempt has left: to its soft timeout, and once that passed, to its hard one. */
interface Deadline {
  leftMs: number;
  which: 'soft' | 'hard';
  limitMs: number;
}

export function startAttempt(spec: AttemptSpec): { control: AttemptControl; done: Promise<AttemptOutcome> } {
  const soft = new AbortController();
  const kill = new AbortController();
  let stopped: { reason: StopReason; by: string } | undefined;
  let hardTimedOut = false;
  let softTimedOut = false;
  const control: AttemptControl = {
    signal: soft.signal,
    stop(reason, by) {
      if (stopped) return;
      stopped = { reason, by };
      soft.abort(new Error(`attempt stopped: ${reason} (${by})`));
      kill.abort(new Error(`attempt stopped: ${reason}`));
    },
  };

  const clock = spec.clock ?? systemClock;
  const started = clock.now();
  const done = (async (): Promise<AttemptOutcome> => {
    const hardMs =
      spec.hardTimeoutMs ?? (spec.timeoutMs === undefined ? undefined : spec.timeoutMs + defaultHardGraceMs);
    let hardTimer: unknown;
    const softTimer =
      spec.timeoutMs === undefined
        ? undefined
        : clock.setTimeout(() => {
            softTimedOut = true;
            soft.abort(new AttemptTimeout('soft', spec.timeoutMs!));
          }, spec.timeoutMs);
    const hardLimit = new Promise<'hard'>((resolve) => {
      if (hardMs === undefined) return;
      hardTimer = clock.setTimeout(() => {
        hardTimedOut = true;
        kill.abort(new AttemptTimeout('hard', hardMs));
        soft.abort(new AttemptTimeout('hard', hardMs));
        resolve('hard');
      }, hardMs);
    });
    const stoppedFromOutside = new Promise<'stopped'>((resolve) => {
      kill.signal.addEventListener('abort', () => (stopped ? resolve('stopped') : undefined), { once: true });
    });
    const deadline = (): Deadline | undefined => {
      const elapsed = clock.now() - started;
      if (spec.timeoutMs !== undefined && elapsed < spec.timeoutMs)
        return { leftMs: spec.timeoutMs - elapsed, which: 'soft', limitMs: spec.timeoutMs };
      if (hardMs !== undefined)
        return { leftMs: Math.max(1, hardMs - elapsed), which: 'hard', limitMs: hardMs };
      return undefined;
    };
    try {
      const limits = parseTaskLimits(yggOf(spec.task).limits);
      const ctx = buildContext(spec, { signal: soft.signal, killSignal: kill.signal, deadline, limits });
      spec.extend?.(ctx, control);
      const run = Promise.resolve().then(() => spec.plugin.run(spec.task, ctx));
      // The handler's own promise is awaited, but never past a hard timeout or an outside stop:
      // the kill signal already ended its commands; a handler that ignores it is left behind.
      const first = await Promise.race([run.then((value) => ({ value })), hardLimit, stoppedFromOutside]);
      const runMs = clock.now() - started;
      if (stopped) return { kind: 'stopped', ...stopped, runMs };
      if (first === 'hard') {
        return {
          kind: 'failed',
          error: new Error(`killed after the hard timeout of ${hardMs} ms`),
          reason: 'hard-timeout',
          retryable: true,
          runMs,
        };
      }
      if (first === 'stopped') return { kind: 'stopped', ...stopped!, runMs };
      if (softTimedOut) {
        return {
          kind: 'failed',
          error: new Error(`timed out after ${spec.timeoutMs} ms`),
          reason: 'timeout',
          retryable: true,
          runMs,
        };
      }
      return { kind: 'succeeded', result: normalize(first.value), runMs };
    } catch (thrown) {
      const runMs = clock.now() - started;
      if (stopped) return { kind: 'stopped', ...stopped, runMs };
      const error = toError(thrown);
      if (hardTimedOut || softTimedOut) {
        return {
          kind: 'failed',
          error: new Error(`timed out after ${spec.timeoutMs ?? hardMs} ms: ${error.message}`),
          reason: hardTimedOut ? 'hard-timeout' : 'timeout',
          retryable: true,
          runMs,
        };
      }
      return {
        kind: 'failed',
        error,
        reason: 'error',
        retryable: !(error instanceof NonRetryableError || error.name === 'NonRetryableError'),
        runMs,
      };
    } finally {
      if (softTimer !== undefined) clock.clearTimeout(softTimer);
      if (hardTimer !== undefined) clock.clearTimeout(hardTimer);
      // Whatever the handler started and did not wait for ends with the attempt.
      kill.abort(new Error('attempt ended'));
    }
  })();
  return { control, done };
}

interface ContextParts {
  /** Aborts on soft timeout and outside stops: the handler's signal. */
  signal: AbortSignal;
  /** Aborts on hard timeout and outside stops: ends every command. */
  killSignal: AbortSignal;
  deadline: () => Deadline | undefined;
  /** The task's own sandbox limits (`metadata.ygg.limits`), validated. */
  limits: TaskLimits;
}

function buildContext(spec: AttemptSpec, parts: ContextParts): HandlerContext {
  const { signal, killSignal, deadline, limits } = parts;
  const gpuEnv: Record<string, string> =
    spec.gpus.length > 0
      ? { CUDA_VISIBLE_DEVICES: spec.gpus.join(','), NVIDIA_VISIBLE_DEVICES: spec.gpus.join(',') }
      : {};
  const markerEnv: Record<string, string> = spec.marker ? { [attemptMarkerVar]: spec.marker } : {};
  const ctx: HandlerContext = {
    signal,
    log: spec.log,
    host: spec.host,
    attempt: spec.attempt,
    type: spec.type,
    // Made when a handler first asks for it: most attempts write no file, and a folder per
    // attempt was a tenth of the time of thousands of no-op tasks.
    get artifactsDir() {
      mkdirSync(spec.artifactsDir, { recursive: true });
      return spec.artifactsDir;
    },
    async exec(argv, options: ExecOptions = {}) {
      const combined = AbortSignal.any([killSignal, ...(options.signal ? [options.signal] : [])]);
      // The attempt's time left bounds the command on the host too (the sandbox's wall clock),
      // so it ends there even when the connection to the host is lost.
      const left = deadline();
      const bound =
        left && (options.timeoutMs === undefined || left.leftMs < options.timeoutMs) ? left : undefined;
      const request: ExecOptions = {
        ...options,
        env: { ...gpuEnv, ...options.env, ...markerEnv },
        signal: combined,
      };
      if (bound) request.timeoutMs = Math.ceil(bound.leftMs);
      if (options.sandbox) {
        request.sandbox = sandboxRequestFor(
          spec.host.sandbox,
          spec.host.typeSandbox?.[spec.type],
          options.sandbox,
          limits,
        );
        if (spec.slotIndex !== undefined) request.sandbox.slot = spec.slotIndex;
        // A slot bound to GPUs brings the GPU devices into the sandbox, whose fresh /dev would
        // hide them; CUDA_VISIBLE_DEVICES names the slot's own.
        if (spec.gpus.length > 0 && request.sandbox.gpu === undefined)
          request.sandbox = { ...request.sandbox, gpu: true };
      }
      return inPlainWords(await spec.transport.exec(argv, request), combined, bound);
    },
    progress: (text, fraction) => spec.onProgress(text, fraction),
    heartbeat: () => spec.onHeartbeat(),
  };
  if (spec.gpus.length > 0) ctx.gpu = [...spec.gpus];
  return ctx;
}

const secs = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/**
 * A command ended by the attempt's own time limit (its signal, or the bound ctx.exec gave it)
 * reads as the time limit it is, not as a cancellation or a bare wall-clock bound.
 */
function inPlainWords(result: ExecResult, signal: AbortSignal, bound: Deadline | undefined): ExecResult {
  const reason: unknown = signal.reason;
  const timeout =
    result.limit === 'cancelled' && reason instanceof AttemptTimeout
      ? { which: reason.which, limitMs: reason.limitMs }
      : result.limit === 'time' && bound
        ? bound
        : undefined;
  if (!timeout) return result;
  const kind = timeout.which === 'soft' ? 'time limit' : 'hard time limit';
  return {
    ...result,
    limit: 'time',
    limitMessage: `stopped: it ran past the task's ${secs(timeout.limitMs)} ${kind}`,
  };
}

function normalize(value: HandlerResult | string | undefined): HandlerResult {
  if (value === undefined) return {};
  if (typeof value === 'string') return { summary: value };
  return value;
}
