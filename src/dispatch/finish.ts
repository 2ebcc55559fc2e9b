/** Writes how an attempt ended back onto its task, and tells the event bus. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TypeConfig } from '../config/types.js';
import { retryAfterMsOf } from '../errors.js';
import { HostUnreachableError } from '../hosts/transport.js';
import { retryDelay } from '../schedule/backoff.js';
import { maxCommentBytes } from '../store/operations.js';
import { yggOf } from '../store/task.js';
import type { AttemptOutcome } from './attempt.js';
import type { Loop, RunningAttempt } from './loop.js';
import {
  deadLetter,
  failedAttempts,
  noteCancelled,
  releaseInterrupted,
  retryLater,
  succeed,
  unreachableAttempts,
} from './transitions.js';

export interface Finish {
  run: RunningAttempt;
  outcome: AttemptOutcome;
  typeConfig: TypeConfig;
  random: () => number;
}

/** Attempts lost to unreachable hosts are not counted, up to this many times the allowed attempts. */
export const unreachableAttemptsFactor = 5;

/** The host could not be reached: a HostUnreachableError, on the error or among its causes. */
function isHostUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++)
    if (e instanceof HostUnreachableError) return true;
  return false;
}

async function retry(
  loop: Loop,
  run: RunningAttempt,
  ending: Parameters<typeof retryLater>[0],
  nextTryAt: number,
  delay: number,
): Promise<void> {
  const written = await loop.store.update(run.task.id, retryLater(ending, nextTryAt));
  if (!written) return;
  loop.totals.retried += 1;
  loop.bus.emit('task:retry', {
    taskId: run.task.id,
    type: run.type,
    attempt: run.attempt,
    nextTryAt: new Date(nextTryAt).toISOString(),
    delayMs: delay,
  });
}

export async function finishAttempt(loop: Loop, { run, outcome, typeConfig, random }: Finish): Promise<void> {
  const { task, type, host, attempt, token } = run;
  const now = loop.clock.now();
  const base = { taskId: task.id, type, host, attempt };

  if (outcome.kind === 'succeeded') {
    const { result } = outcome;
    const text = [result.summary, result.output].filter(Boolean).join('\n\n') || 'done';
    const artifactsDir = join(loop.store.runtimeDir, 'artifacts', task.id, String(attempt));
    const artifacts = [...(result.artifacts ?? [])];
    if (Buffer.byteLength(text) > maxCommentBytes) {
      // The comment keeps a bounded text; the whole output stays beside the store.
      await mkdir(artifactsDir, { recursive: true });
      await writeFile(join(artifactsDir, 'output.txt'), text);
      artifacts.push('output.txt');
    }
    const listed =
      artifacts.length > 0
        ? `\n\nartifacts (${artifactsDir}):\n${artifacts.map((a) => `- ${a}`).join('\n')}`
        : '';
    const written = await loop.store.update(
      task.id,
      succeed(
        {
          token,
          now,
          outcome: 'succeeded',
          runMs: outcome.runMs,
          extra: {
            ...(result.metadata ? { result: result.metadata } : {}),
            ...(artifacts.length ? { artifacts } : {}),
          },
        },
        'done',
        `${text}${listed}`,
      ),
    );
    if (!written) {
      loop.totals.lost += 1;
      loop.bus.emit('task:lost', {
        taskId: task.id,
        reason: 'the lease was lost before the result was written; result dropped',
      });
      return;
    }
    loop.totals.succeeded += 1;
    loop.bus.emit('task:succeeded', { ...base, runMs: outcome.runMs });
    return;
  }

  if (outcome.kind === 'stopped') {
    if (outcome.reason === 'cancelled') {
      await loop.store.update(task.id, noteCancelled(token, now, outcome.by, outcome.runMs));
      loop.totals.cancelled += 1;
      loop.bus.emit('task:cancelled', { ...base, by: outcome.by });
      return;
    }
    if (outcome.reason === 'lease-lost') {
      loop.totals.lost += 1;
      loop.bus.emit('task:lost', { taskId: task.id, reason: `lease lost: ${outcome.by}` });
      return;
    }
    if (outcome.reason === 'shutdown') {
      await loop.store.update(
        task.id,
        releaseInterrupted({ token, now, outcome: 'cancelled', error: outcome.by, runMs: outcome.runMs }),
      );
      loop.bus.emit('task:failed', { ...base, runMs: outcome.runMs, error: outcome.by, reason: 'cancelled' });
      return;
    }
  }

  // A failure: a handler error, a timeout, or its host going down.
  const failure =
    outcome.kind === 'failed'
      ? outcome
      : { error: new Error(outcome.by), reason: 'host-down' as const, retryable: true, runMs: outcome.runMs };
  const current = loop.store.get(task.id) ?? task;
  const allowed =
    yggOf(task).attempts ?? typeConfig.attempts ?? run.plugin.attempts ?? loop.config.defaults.attempts;
  const message = failure.error.message || String(failure.error);
  const unreachable = outcome.kind === 'stopped' || isHostUnreachable(failure.error);
  if (unreachable && outcome.kind === 'failed') loop.bus.emit('host:unreachable', { host, error: message });
  if (unreachable && unreachableAttempts(current) + 1 < allowed * unreachableAttemptsFactor) {
    // The task did nothing wrong: it waits for a host that answers without spending an attempt.
    // A host that went down is avoided by routing at once; one that just failed to answer is
    // probed now, and the task backs off meanwhile.
    loop.totals.failed += 1;
    loop.bus.emit('task:failed', { ...base, runMs: failure.runMs, error: message, reason: 'host-down' });
    const delay =
      outcome.kind === 'stopped'
        ? 0
        : retryDelay(unreachableAttempts(current) + 1, typeConfig.backoff, random);
    await retry(
      loop,
      run,
      { token, now, outcome: 'unreachable', error: message, runMs: failure.runMs },
      now + delay,
      delay,
    );
    return;
  }
  const used = failedAttempts(current) + 1;
  const outcomeName =
    failure.reason === 'timeout' || failure.reason === 'hard-timeout' ? 'timeout' : 'failed';
  loop.totals.failed += 1;
  loop.bus.emit('task:failed', { ...base, runMs: failure.runMs, error: message, reason: failure.reason });

  if (failure.retryable && !unreachable && used < allowed) {
    // An endpoint that said when to come back (Retry-After) is not asked sooner.
    const backoff = retryDelay(used, typeConfig.backoff, random);
    const delay = Math.max(backoff, retryAfterMsOf(failure.error) ?? 0);
    await retry(
      loop,
      run,
      { token, now, outcome: outcomeName, error: message, runMs: failure.runMs },
      now + delay,
      delay,
    );
    return;
  }
  const why = unreachable
    ? `could not reach a host ${allowed * unreachableAttemptsFactor} times`
    : failure.retryable
      ? `failed ${used} of ${allowed} attempts`
      : 'failed with an error that retrying cannot fix';
  const comment = `ygg: ${why}; last error on ${host} (attempt ${attempt}):\n${message}\n\nSend it back with: ygg retry ${task.id}`;
  const written = await loop.store.update(
    task.id,
    deadLetter({ token, now, outcome: outcomeName, error: message, runMs: failure.runMs }, used, comment),
  );
  if (written) {
    loop.totals.dead += 1;
    loop.bus.emit('task:dead', { taskId: task.id, type, attempts: used, error: message });
  }
}
