/**
 * How an attempt's end settles its task, as a pure decision: which lifecycle change to write and
 * what to report. `SettleWriter` carries it out.
 */
import type { TypeConfig } from '../config/types.js';
import { retryAfterMsOf } from '../errors.js';
import { HostUnreachableError } from '../hosts/transport.js';
import type { FailureReason } from '../observe/events.js';
import { retryDelay } from '../schedule/backoff.js';
import type { AttemptRecord, Task } from '../store/task.js';
import type { AttemptOutcome } from './attempt.js';
import { failedAttempts, unreachableAttempts } from './lifecycle/counts.js';

/** Attempts lost to unreachable hosts are not counted, up to this many times the allowed attempts. */
export const unreachableAttemptsFactor = 5;

/** The attempt being settled. */
export interface SettledRun {
  id: string;
  host: string;
  attempt: number;
  token: number;
}

export interface Failure {
  message: string;
  reason: FailureReason;
  runMs: number;
}

export type Settlement =
  | { kind: 'succeed' }
  | { kind: 'note-cancelled'; by: string }
  | { kind: 'lost'; reason: string }
  | { kind: 'release'; by: string }
  | {
      kind: 'retry';
      failure: Failure;
      outcome: NonNullable<AttemptRecord['outcome']>;
      delayMs: number;
      /** The host could not be reached: the task waits for one that answers, no attempt spent. */
      unreachable: boolean;
    }
  | {
      kind: 'dead';
      failure: Failure;
      outcome: NonNullable<AttemptRecord['outcome']>;
      attempts: number;
      comment: string;
      unreachable: boolean;
    };

export interface SettleInput {
  run: SettledRun;
  outcome: AttemptOutcome;
  /** The task as the store has it now. */
  task: Task;
  allowedAttempts: number;
  backoff: TypeConfig['backoff'];
  random: () => number;
}

/** The host could not be reached: a HostUnreachableError, on the error or among its causes. */
export function isHostUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++)
    if (e instanceof HostUnreachableError) return true;
  return false;
}

export function settle(input: SettleInput): Settlement {
  const { outcome, task, run, allowedAttempts: allowed } = input;
  if (outcome.kind === 'succeeded') return { kind: 'succeed' };
  if (outcome.kind === 'stopped' && outcome.reason === 'cancelled')
    return { kind: 'note-cancelled', by: outcome.by };
  if (outcome.kind === 'stopped' && outcome.reason === 'lease-lost')
    return { kind: 'lost', reason: `lease lost: ${outcome.by}` };
  if (outcome.kind === 'stopped' && outcome.reason === 'shutdown') return { kind: 'release', by: outcome.by };

  // A failure: a handler error, a timeout, or its host going down.
  const hostDown = outcome.kind === 'stopped';
  const error = outcome.kind === 'failed' ? outcome.error : new Error(outcome.by);
  const failure: Failure = {
    message: error.message || String(error),
    reason: outcome.kind === 'failed' ? outcome.reason : 'host-down',
    runMs: outcome.runMs,
  };
  const unreachable = hostDown || isHostUnreachable(error);
  if (unreachable && unreachableAttempts(task) + 1 < allowed * unreachableAttemptsFactor) {
    // A host that went down is avoided by routing at once; one that failed to answer backs off.
    const delayMs = hostDown ? 0 : retryDelay(unreachableAttempts(task) + 1, input.backoff, input.random);
    return {
      kind: 'retry',
      failure: { ...failure, reason: 'host-down' },
      outcome: 'unreachable',
      delayMs,
      unreachable: true,
    };
  }
  const used = failedAttempts(task) + 1;
  const timedOut = failure.reason === 'timeout' || failure.reason === 'hard-timeout';
  const recorded = timedOut ? 'timeout' : 'failed';
  const retryable = outcome.kind === 'failed' ? outcome.retryable : true;
  if (retryable && !unreachable && used < allowed) {
    // An endpoint that said when to come back (Retry-After) is not asked sooner.
    const delayMs = Math.max(retryDelay(used, input.backoff, input.random), retryAfterMsOf(error) ?? 0);
    return { kind: 'retry', failure, outcome: recorded, delayMs, unreachable: false };
  }
  const why = unreachable
    ? `could not reach a host ${allowed * unreachableAttemptsFactor} times`
    : retryable
      ? `failed ${used} of ${allowed} attempts`
      : 'failed with an error that retrying cannot fix';
  const comment = `ygg: ${why}; last error on ${run.host} (attempt ${run.attempt}):\n${failure.message}\n\nSend it back with: ygg retry ${run.id}`;
  return { kind: 'dead', failure, outcome: recorded, attempts: used, comment, unreachable };
}
