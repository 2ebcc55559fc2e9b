/** Writes how an attempt ended back onto its task, and tells the event bus. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TypeConfig } from '../config/types.js';
import { retryAfterMsOf } from '../errors.js';
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
} from './transitions.js';

export interface Finish {
  run: RunningAttempt;
  outcome: AttemptOutcome;
  typeConfig: TypeConfig;
  random: () => number;
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
      await loop.store.update(task.id, noteCancelled(token, now, outcome.by));
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
        releaseInterrupted({ token, now, outcome: 'cancelled', error: outcome.by }),
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
  const used = failedAttempts(current) + 1;
  const allowed =
    yggOf(task).attempts ?? typeConfig.attempts ?? run.plugin.attempts ?? loop.config.defaults.attempts;
  const message = failure.error.message || String(failure.error);
  const outcomeName =
    failure.reason === 'timeout' || failure.reason === 'hard-timeout' ? 'timeout' : 'failed';
  loop.totals.failed += 1;
  loop.bus.emit('task:failed', { ...base, runMs: failure.runMs, error: message, reason: failure.reason });

  if (failure.retryable && used < allowed) {
    // A host that went down is avoided by routing; no need to wait before trying elsewhere.
    // An endpoint that said when to come back (Retry-After) is not asked sooner.
    const backoff = retryDelay(used, typeConfig.backoff, random);
    const delay = failure.reason === 'host-down' ? 0 : Math.max(backoff, retryAfterMsOf(failure.error) ?? 0);
    const nextTryAt = now + delay;
    const written = await loop.store.update(
      task.id,
      retryLater({ token, now, outcome: outcomeName, error: message }, nextTryAt),
    );
    if (written) {
      loop.totals.retried += 1;
      loop.bus.emit('task:retry', {
        taskId: task.id,
        type,
        attempt,
        nextTryAt: new Date(nextTryAt).toISOString(),
        delayMs: delay,
      });
    }
    return;
  }
  const why = failure.retryable
    ? `failed ${used} of ${allowed} attempts`
    : 'failed with an error that retrying cannot fix';
  const comment = `ygg: ${why}; last error on ${host} (attempt ${attempt}):\n${message}\n\nSend it back with: ygg retry ${task.id}`;
  const written = await loop.store.update(
    task.id,
    deadLetter({ token, now, outcome: outcomeName, error: message }, used, comment),
  );
  if (written) {
    loop.totals.dead += 1;
    loop.bus.emit('task:dead', { taskId: task.id, type, attempts: used, error: message });
  }
}
