/**
 * Keeps the live part of a status snapshot (hosts, running tasks, recent outcomes, throughput,
 * waits, unroutable tasks, pause) up to date from bus events, and reads the rest (queue, dead
 * letters) from the store when a snapshot is asked for. The loop's `StatusSource.snapshot()`
 * can simply return `tracker.snapshot()`. Recent history starts from the store's history, so it
 * survives a restart.
 */
import type { YggConfig } from '../config/types.js';
import type { TaskStore } from '../store/store.js';
import type { EventBus, YggEventName, YggEvents } from './events.js';
import {
  emptySnapshot,
  type HostStatus,
  type LearnerStatus,
  type LoopInfo,
  type OutcomeKind,
  type RecentOutcome,
  type RunningTask,
  type StatusSnapshot,
  snapshotLimits,
  summarizeError,
  type UnroutableTask,
} from './snapshot.js';
import { throughputWindowMs } from './store-snapshot.js';
import {
  deadLettersFromStore,
  hostsFromConfig,
  queueFromStore,
  recentFromStore,
  type TypeOf,
  typeClassifier,
} from './store-view.js';

export interface StatusTrackerOptions {
  bus: EventBus;
  store: TaskStore;
  config?: YggConfig;
  /** ygg's version, shown in the loop info. */
  version: string;
  /** Milliseconds since the epoch; injectable for tests. Default `Date.now`. */
  now?: () => number;
  pid?: number;
}

export class StatusTracker implements Disposable {
  readonly #store: TaskStore;
  readonly #typeOf: TypeOf;
  readonly #now: () => number;
  readonly #loop: LoopInfo;
  readonly #hosts = new Map<string, HostStatus>();
  readonly #running = new Map<string, RunningTask>();
  readonly #unroutable = new Map<string, UnroutableTask>();
  #recent: RecentOutcome[];
  #finishes: number[] = [];
  #waits: { at: number; ms: number }[] = [];
  #paused = false;
  #counts = { done: 0, succeeded: 0, failed: 0 };
  #learner: LearnerStatus | undefined;
  readonly #unsubscribe: Array<() => void> = [];

  constructor(options: StatusTrackerOptions) {
    this.#store = options.store;
    this.#typeOf = typeClassifier(options.config);
    this.#now = options.now ?? Date.now;
    this.#loop = {
      running: true,
      pid: options.pid ?? process.pid,
      startedAt: new Date(this.#now()).toISOString(),
      version: options.version,
      state: 'starting',
    };
    for (const host of hostsFromConfig(options.config)) this.#hosts.set(host.name, host);
    const learner = options.config?.learner;
    if (learner)
      this.#learner = { host: learner.host, state: 'idle', since: new Date(this.#now()).toISOString() };
    this.#recent = recentFromStore(this.#store, this.#typeOf);
    this.#subscribe(options.bus);
  }

  snapshot(): StatusSnapshot {
    const nowMs = this.#now();
    const now = new Date(nowMs);
    this.#trim(nowMs);
    const snapshot = emptySnapshot({ ...this.#loop }, now);
    snapshot.paused = this.#paused;
    snapshot.hosts = [...this.#hosts.values()].map((h) => ({
      ...h,
      slots: { ...h.slots },
      gpus: h.gpus.map((g) => ({ ...g })),
      protections: [...h.protections],
    }));
    snapshot.queue = queueFromStore(this.#store, this.#typeOf, now);
    snapshot.running = [...this.#running.values()].map((r) => ({
      ...r,
      elapsedMs: Math.max(0, nowMs - Date.parse(r.startedAt)),
    }));
    snapshot.recent = this.#recent.map((r) => ({ ...r }));
    snapshot.deadLetters = deadLettersFromStore(this.#store, this.#typeOf);
    snapshot.unroutable = [...this.#unroutable.values()].slice(0, snapshotLimits.unroutable);
    const windowMs = Math.min(
      throughputWindowMs,
      Math.max(60_000, nowMs - Date.parse(this.#loop.startedAt!)),
    );
    const waitSum = this.#waits.reduce((sum, w) => sum + w.ms, 0);
    snapshot.throughput = {
      perMinute: this.#finishes.length / (windowMs / 60_000),
      meanWaitMs: this.#waits.length > 0 ? waitSum / this.#waits.length : undefined,
      ...this.#counts,
    };
    if (this.#learner)
      snapshot.learner = {
        ...this.#learner,
        ...(this.#learner.policy ? { policy: { ...this.#learner.policy } } : {}),
      };
    return snapshot;
  }

  /** Protections in force on a host (from the host pool's sandbox check). */
  setProtections(host: string, protections: string[]): void {
    this.#host(host).protections = [...protections];
  }

  /** Last probe round trip of a host. */
  setLatency(host: string, latencyMs: number): void {
    // As `ygg hosts` prints it: a tenth of a millisecond (a LAN's round trip is well under 1 ms).
    this.#host(host).latencyMs = Math.round(latencyMs * 10) / 10;
  }

  [Symbol.dispose](): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #subscribe(bus: EventBus): void {
    const on = <E extends YggEventName>(event: E, fn: (p: YggEvents[E]) => void) =>
      this.#unsubscribe.push(bus.on(event, fn));
    on('learner:state', ({ host, state, detail }) => {
      const policy = this.#learner?.policy;
      this.#learner = {
        host,
        state,
        since: new Date(this.#now()).toISOString(),
        ...(detail ? { detail } : {}),
        ...(policy ? { policy } : {}),
      };
    });
    on('policy:published', ({ version, batchSize, meanReward }) => {
      if (!this.#learner) return;
      this.#learner.policy = { version, batchSize, meanReward, at: new Date(this.#now()).toISOString() };
    });
    on('loop:state', ({ state }) => {
      this.#loop.state = state;
    });
    on('queue:paused', ({ paused }) => {
      this.#paused = paused;
    });
    on('host:up', ({ host }) => {
      const h = this.#host(host);
      h.state = 'up';
      h.error = undefined;
    });
    on('host:down', ({ host, error }) => {
      const h = this.#host(host);
      h.state = 'down';
      h.error = summarizeError(error);
    });
    on('host:drain', ({ host, draining }) => {
      this.#host(host).draining = draining;
    });
    on('slots:changed', ({ host, used, total, effective }) => {
      this.#host(host).slots = { used, total, effective };
    });
    on('gpu:sample', ({ host, gpus }) => {
      this.#host(host).gpus = gpus.map((g) => ({
        index: g.index,
        name: g.name,
        utilization: g.utilization,
        memoryUsedBytes: g.memoryUsedBytes,
        memoryTotalBytes: g.memoryTotalBytes,
        temperatureC: g.temperatureC,
      }));
    });
    on('task:unroutable', ({ taskId, type, reason }) => {
      this.#unroutable.set(taskId, { id: taskId, title: this.#title(taskId), type, reason });
    });
    on('task:claimed', ({ taskId, type, host, attempt, waitMs }) => {
      this.#unroutable.delete(taskId);
      this.#waits.push({ at: this.#now(), ms: waitMs });
      this.#running.set(taskId, {
        id: taskId,
        title: this.#title(taskId),
        type,
        host,
        attempt,
        startedAt: new Date(this.#now()).toISOString(),
        elapsedMs: 0,
      });
    });
    on('task:started', ({ taskId, type, host, attempt }) => {
      const running = this.#running.get(taskId);
      if (running) Object.assign(running, { type, host, attempt });
      else
        this.#running.set(taskId, {
          id: taskId,
          title: this.#title(taskId),
          type,
          host,
          attempt,
          startedAt: new Date(this.#now()).toISOString(),
          elapsedMs: 0,
        });
    });
    on('task:progress', ({ taskId, text, fraction }) => {
      const running = this.#running.get(taskId);
      if (!running) return;
      running.progress = summarizeError(text);
      running.fraction = fraction;
    });
    on('task:succeeded', (e) => {
      this.#end(e.taskId, { type: e.type, host: e.host, attempt: e.attempt, runMs: e.runMs }, 'succeeded');
    });
    on('task:failed', (e) => {
      this.#end(e.taskId, { ...e, error: summarizeError(e.error) }, 'failed');
    });
    on('task:retry', ({ taskId }) => this.#relabel(taskId, 'retry'));
    on('task:dead', ({ taskId, type, attempts, error }) => {
      if (!this.#relabel(taskId, 'dead'))
        this.#push({ taskId, type, attempt: attempts, error: summarizeError(error) }, 'dead');
      this.#finished('failed');
    });
    on('task:cancelled', (e) => {
      this.#end(e.taskId, { type: e.type, host: e.host, attempt: e.attempt }, 'cancelled');
    });
    on('task:lost', ({ taskId, reason }) => {
      const running = this.#running.get(taskId);
      this.#running.delete(taskId);
      this.#push(
        {
          taskId,
          type: running?.type ?? '?',
          host: running?.host,
          attempt: running?.attempt ?? 0,
          error: summarizeError(reason),
        },
        'lost',
      );
    });
  }

  #end(
    taskId: string,
    e: { type: string; host?: string; attempt: number; runMs?: number; error?: string },
    outcome: OutcomeKind,
  ): void {
    const running = this.#running.get(taskId);
    this.#running.delete(taskId);
    const runMs = e.runMs ?? (running ? this.#now() - Date.parse(running.startedAt) : undefined);
    this.#push({ ...e, taskId, runMs }, outcome);
    if (outcome === 'succeeded') this.#finished('succeeded');
    if (outcome === 'cancelled') this.#finished();
  }

  #push(
    e: { taskId: string; type: string; host?: string; attempt: number; runMs?: number; error?: string },
    outcome: OutcomeKind,
  ): void {
    this.#recent.unshift({
      id: e.taskId,
      title: this.#title(e.taskId),
      type: e.type,
      host: e.host,
      attempt: e.attempt,
      outcome,
      at: new Date(this.#now()).toISOString(),
      runMs: e.runMs,
      error: e.error || undefined,
    });
    if (this.#recent.length > snapshotLimits.recent) this.#recent.length = snapshotLimits.recent;
  }

  /** Turn the task's latest `failed` outcome into `retry` or `dead`; false when there is none. */
  #relabel(taskId: string, outcome: 'retry' | 'dead'): boolean {
    const entry = this.#recent.find((r) => r.id === taskId);
    if (entry?.outcome !== 'failed') return false;
    entry.outcome = outcome;
    return true;
  }

  #finished(kind?: 'succeeded' | 'failed'): void {
    this.#counts.done++;
    if (kind) this.#counts[kind]++;
    this.#finishes.push(this.#now());
  }

  #trim(nowMs: number): void {
    const since = nowMs - throughputWindowMs;
    this.#finishes = this.#finishes.filter((t) => t >= since);
    this.#waits = this.#waits.filter((w) => w.at >= since);
  }

  #host(name: string): HostStatus {
    let host = this.#hosts.get(name);
    if (!host) {
      host = {
        name,
        state: 'unknown',
        slots: { used: 0, total: 0, effective: 0 },
        draining: false,
        gpus: [],
        protections: [],
      };
      this.#hosts.set(name, host);
    }
    return host;
  }

  #title(taskId: string): string {
    return this.#store.get(taskId)?.title ?? taskId;
  }
}
