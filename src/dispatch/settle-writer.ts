/** Writes how an attempt ended back onto its task (through the lifecycle) and tells the bus. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventBus } from '../observe/events.js';
import type { HandlerResult } from '../plugins/api.js';
import { maxCommentBytes } from '../store/operations.js';
import type { TaskStore } from '../store/store.js';
import type { Task } from '../store/task.js';
import type { AttemptOutcome } from './attempt.js';
import type { Clock } from './clock.js';
import type { Ending, TaskChange } from './lifecycle/changes.js';
import type { SettledRun, Settlement } from './settle.js';

/** What the loop counts of its outcomes. */
export interface LoopTotals {
  succeeded: number;
  failed: number;
  retried: number;
  dead: number;
  cancelled: number;
  lost: number;
  /** Slot time spent running, per host. */
  busyMs: Map<string, number>;
  firstStart?: number;
  lastEnd?: number;
}

export function emptyTotals(): LoopTotals {
  return { succeeded: 0, failed: 0, retried: 0, dead: 0, cancelled: 0, lost: 0, busyMs: new Map() };
}

export interface SettleWriterOptions {
  store: TaskStore;
  bus: EventBus;
  clock: Clock;
  totals: LoopTotals;
  /** Writes a lifecycle change (and remembers our version of the task). */
  write(change: TaskChange): Promise<Task | undefined>;
}

export interface SettleRequest {
  run: SettledRun & { type: string };
  outcome: AttemptOutcome;
  settlement: Settlement;
}

export class SettleWriter {
  constructor(readonly options: SettleWriterOptions) {}

  async write({ run, outcome, settlement }: SettleRequest): Promise<void> {
    const { bus, totals, clock } = this.options;
    const now = clock.now();
    const base = { taskId: run.id, type: run.type, host: run.host, attempt: run.attempt };
    const ending = (extra: Omit<Ending, 'token' | 'now'>): Ending => ({ token: run.token, now, ...extra });
    switch (settlement.kind) {
      case 'succeed': {
        if (outcome.kind !== 'succeeded') return;
        const { comment, extra } = await this.#result(run, outcome.result);
        const written = await this.options.write({
          op: 'succeed',
          id: run.id,
          ending: ending({ outcome: 'succeeded', runMs: outcome.runMs, extra }),
          closeReason: 'done',
          comment,
        });
        if (!written) {
          totals.lost += 1;
          bus.emit('task:lost', {
            taskId: run.id,
            reason: 'the lease was lost before the result was written; result dropped',
          });
          return;
        }
        totals.succeeded += 1;
        bus.emit('task:succeeded', { ...base, runMs: outcome.runMs });
        return;
      }
      case 'note-cancelled': {
        await this.options.write({
          op: 'note-cancelled',
          id: run.id,
          token: run.token,
          by: settlement.by,
          runMs: outcome.runMs,
          now,
        });
        totals.cancelled += 1;
        bus.emit('task:cancelled', { ...base, by: settlement.by });
        return;
      }
      case 'lost':
        totals.lost += 1;
        bus.emit('task:lost', { taskId: run.id, reason: settlement.reason });
        return;
      case 'release':
        await this.options.write({
          op: 'release',
          id: run.id,
          ending: ending({ outcome: 'cancelled', error: settlement.by, runMs: outcome.runMs }),
        });
        bus.emit('task:failed', { ...base, runMs: outcome.runMs, error: settlement.by, reason: 'cancelled' });
        return;
      case 'retry': {
        const { failure } = settlement;
        this.#failed(run, base, settlement, outcome.kind === 'failed');
        const nextTryAt = now + settlement.delayMs;
        const written = await this.options.write({
          op: 'retry-later',
          id: run.id,
          ending: ending({ outcome: settlement.outcome, error: failure.message, runMs: failure.runMs }),
          nextTryAt,
        });
        if (!written) return;
        totals.retried += 1;
        bus.emit('task:retry', {
          ...base,
          nextTryAt: new Date(nextTryAt).toISOString(),
          delayMs: settlement.delayMs,
        });
        return;
      }
      case 'dead': {
        const { failure } = settlement;
        this.#failed(run, base, settlement, outcome.kind === 'failed');
        const written = await this.options.write({
          op: 'dead-letter',
          id: run.id,
          ending: ending({ outcome: settlement.outcome, error: failure.message, runMs: failure.runMs }),
          attempts: settlement.attempts,
          comment: settlement.comment,
        });
        if (!written) return;
        totals.dead += 1;
        bus.emit('task:dead', {
          taskId: run.id,
          type: run.type,
          attempts: settlement.attempts,
          error: failure.message,
        });
      }
    }
  }

  /** A failure is counted and told (a host that could not be reached too), whatever comes next. */
  #failed(
    run: SettledRun,
    base: { taskId: string; type: string; host: string; attempt: number },
    settlement: Extract<Settlement, { kind: 'retry' | 'dead' }>,
    handlerFailed: boolean,
  ): void {
    const { bus, totals } = this.options;
    const { failure } = settlement;
    if (settlement.unreachable && handlerFailed)
      bus.emit('host:unreachable', { host: run.host, error: failure.message });
    totals.failed += 1;
    bus.emit('task:failed', {
      ...base,
      runMs: failure.runMs,
      error: failure.message,
      reason: failure.reason,
    });
  }

  /** The result comment; a long output is kept whole beside the store and listed. */
  async #result(run: SettledRun, result: HandlerResult) {
    const text = [result.summary, result.output].filter(Boolean).join('\n\n') || 'done';
    const artifactsDir = join(this.options.store.runtimeDir, 'artifacts', run.id, String(run.attempt));
    const artifacts = [...(result.artifacts ?? [])];
    if (Buffer.byteLength(text) > maxCommentBytes) {
      await mkdir(artifactsDir, { recursive: true });
      await writeFile(join(artifactsDir, 'output.txt'), text);
      artifacts.push('output.txt');
    }
    const listed =
      artifacts.length > 0
        ? `\n\nartifacts (${artifactsDir}):\n${artifacts.map((a) => `- ${a}`).join('\n')}`
        : '';
    const extra = {
      ...(result.metadata ? { result: result.metadata } : {}),
      ...(artifacts.length ? { artifacts } : {}),
    };
    return { comment: `${text}${listed}`, extra };
  }
}
