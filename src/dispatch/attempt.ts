/**
 * One attempt's life: build the handler's context, run it under soft and hard timeouts, and
 * turn how it ended into an outcome. It writes nothing to the store; the loop does.
 *
 *   running ──soft timeout──▶ signal aborted ──handler returns/throws──▶ ended
 *      │                           └──hard timeout──▶ killed (outcome: hard-timeout)
 *      └──cancel / shutdown / lease lost──▶ signal aborted ──▶ ended with that reason
 */
import { mkdir } from 'node:fs/promises';
import type { HostConfig } from '../config/types.js';
import { NonRetryableError, toError } from '../errors.js';
import type { ExecOptions, Transport } from '../hosts/transport.js';
import type { FailureReason } from '../observe/events.js';
import type { HandlerContext, HandlerLogger, HandlerResult, Plugin } from '../plugins/api.js';
import type { Task } from '../store/task.js';

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
  artifactsDir: string;
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

  const started = performance.now();
  const done = (async (): Promise<AttemptOutcome> => {
    const hardMs =
      spec.hardTimeoutMs ?? (spec.timeoutMs === undefined ? undefined : spec.timeoutMs + defaultHardGraceMs);
    let hardTimer: NodeJS.Timeout | undefined;
    const softTimer =
      spec.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            softTimedOut = true;
            soft.abort(new Error(`soft timeout: ${spec.timeoutMs} ms`));
          }, spec.timeoutMs);
    const hardLimit = new Promise<'hard'>((resolve) => {
      if (hardMs === undefined) return;
      hardTimer = setTimeout(() => {
        hardTimedOut = true;
        kill.abort(new Error(`hard timeout: ${hardMs} ms`));
        soft.abort(new Error(`hard timeout: ${hardMs} ms`));
        resolve('hard');
      }, hardMs);
    });
    const stoppedFromOutside = new Promise<'stopped'>((resolve) => {
      kill.signal.addEventListener('abort', () => (stopped ? resolve('stopped') : undefined), { once: true });
    });
    try {
      await mkdir(spec.artifactsDir, { recursive: true });
      const ctx = buildContext(spec, soft.signal, kill.signal);
      spec.extend?.(ctx, control);
      const run = Promise.resolve().then(() => spec.plugin.run(spec.task, ctx));
      // The handler's own promise is awaited, but never past a hard timeout or an outside stop:
      // the kill signal already ended its commands; a handler that ignores it is left behind.
      const first = await Promise.race([run.then((value) => ({ value })), hardLimit, stoppedFromOutside]);
      const runMs = performance.now() - started;
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
      const runMs = performance.now() - started;
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
      if (softTimer) clearTimeout(softTimer);
      if (hardTimer) clearTimeout(hardTimer);
      // Whatever the handler started and did not wait for ends with the attempt.
      kill.abort(new Error('attempt ended'));
    }
  })();
  return { control, done };
}

function buildContext(spec: AttemptSpec, signal: AbortSignal, killSignal: AbortSignal): HandlerContext {
  const gpuEnv: Record<string, string> =
    spec.gpus.length > 0
      ? { CUDA_VISIBLE_DEVICES: spec.gpus.join(','), NVIDIA_VISIBLE_DEVICES: spec.gpus.join(',') }
      : {};
  const ctx: HandlerContext = {
    signal,
    log: spec.log,
    host: spec.host,
    attempt: spec.attempt,
    type: spec.type,
    artifactsDir: spec.artifactsDir,
    exec(argv, options: ExecOptions = {}) {
      const signals = [killSignal, ...(options.signal ? [options.signal] : [])];
      return spec.transport.exec(argv, {
        ...options,
        env: { ...gpuEnv, ...options.env },
        signal: AbortSignal.any(signals),
      });
    },
    progress: (text, fraction) => spec.onProgress(text, fraction),
    heartbeat: () => spec.onHeartbeat(),
  };
  if (spec.gpus.length > 0) ctx.gpu = [...spec.gpus];
  return ctx;
}

function normalize(value: HandlerResult | string | undefined): HandlerResult {
  if (value === undefined) return {};
  if (typeof value === 'string') return { summary: value };
  return value;
}
