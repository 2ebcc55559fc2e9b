/**
 * The dispatch loop: watches the store, and in each pass orders the ready tasks, asks admission
 * what to do with each, and hands launches to the runner.
 *
 *   created ──start()──▶ running ──stop()──▶ stopping ──(every attempt settled)──▶ stopped
 *                                   └──stop({ force }) or grace timeout: attempts aborted, reopened
 *
 * A pass is cheap and event-driven: it runs when the store changes, a slot frees, a retry or a
 * lease comes due, or the safety-net poll fires. It never waits on a full host (no head-of-line
 * blocking) and never claims more than it can start now (no prefetch).
 */
import { mkdir } from 'node:fs/promises';
import { classifyType, typeConfigFor } from '../config/type-rules.js';
import type { HostConfig, TypeConfig, YggConfig } from '../config/types.js';
import type { Transport } from '../hosts/transport.js';
import type { EventBus } from '../observe/events.js';
import type { HandlerLogger, Plugin } from '../plugins/api.js';
import type { PluginSet } from '../plugins/loader.js';
import { RuntimeEstimator } from '../schedule/estimates.js';
import type { Placement } from '../schedule/makespan.js';
import { HostSlots, resizeSlots } from '../schedule/slots.js';
import { RecentOwners } from '../schedule/spread.js';
import type { StoreChange, TaskStore } from '../store/store.js';
import { statusOf, type Task, yggOf } from '../store/task.js';
import type { Holdup } from './admission.js';
import { InProgressTasks } from './candidates.js';
import { type Clock, systemClock } from './clock.js';
import { ControlWatcher } from './control-watcher.js';
import type { DispatchExtensions, PassView } from './extensions.js';
import { AddIntake } from './intake/server.js';
import { loopOwner } from './owner.js';
import { type PassContext, runPass } from './pass.js';
import type { HostSignals } from './pass-input.js';
import { Runner, type RunningAttempt } from './runner.js';
import { emptyTotals, type LoopTotals } from './settle-writer.js';
import { storeReachable, watchStoreConnection } from './store-outage.js';
import { UnreachedMarks } from './unreached-marks.js';
import { WaitingTasks } from './waiting.js';
import { WakeTimer } from './wake-timer.js';

export type { Holdup } from './admission.js';
export type { RunningAttempt } from './runner.js';
export type { LoopTotals } from './settle-writer.js';
export type LoopState = 'created' | 'running' | 'stopping' | 'stopped';
/** How `untilIdle` ended: nothing left to do now, or the ready tasks waited on down hosts too long. */
export type IdleEnd = 'idle' | 'hosts-down';

export interface LoopOptions extends DispatchExtensions, HostSignals {
  store: TaskStore;
  config: YggConfig;
  plugins: PluginSet;
  bus: EventBus;
  /** The transport for a host (local or SSH), opened lazily by the caller. */
  transport(host: HostConfig): Transport;
  clock?: Clock;
  owner?: string;
  /** The Python dispatcher's older behaviour: at most one running task per type. */
  legacy?: boolean;
  /** At most this many tasks claimed or running in this loop at once, across all hosts (`--concurrency`). */
  concurrency?: number;
  random?: () => number;
  log?: HandlerLogger;
  /** Take adds from commands on this machine over a socket (the file store; default on, see intake/). */
  intake?: boolean;
}

const silentLogger: HandlerLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class Loop implements PassView {
  readonly owner: string;
  readonly bus: EventBus;
  readonly store: TaskStore;
  readonly totals: LoopTotals = emptyTotals();
  readonly slots = new Map<string, HostSlots>();
  readonly clock: Clock;
  readonly startedAt: number;
  /** Expected run time per type and host, from the config's estimates and observed runs. */
  readonly estimator: RuntimeEstimator;
  readonly #runner: Runner;
  readonly #options: LoopOptions;
  readonly #waiting: WaitingTasks;
  readonly #inProgress: InProgressTasks;
  readonly #wake: WakeTimer;
  #state: LoopState = 'created';
  #config: YggConfig;
  /**
   * Each task's type, per task object (a changed line is a new object), until the config
   * changes: every pass asks it of every ready task, and working it out anew each time was a
   * sixth of what a busy loop on a large store allocated.
   */
  #types = new WeakMap<Task, string>();
  readonly #control: ControlWatcher;
  #heldElsewhere = new Map<string, number[]>();
  #passQueued = false;
  #pollTimer: unknown;
  #idleWaiters: Array<(end: IdleEnd) => void> = [];
  /** With `untilIdle(hostsDownMs)`: since when the ready tasks wait on down hosts alone. */
  #hostsDown: { since: number; timer: unknown } | undefined;
  #hostsDownMs: number | undefined;
  #cleanups: Array<() => void> = [];
  #stopping: Promise<void> | undefined;
  #forced = false;
  /** Running work was told to stop (forced stop, or the grace period ran out). */
  #aborting = false;
  #plan: Map<string, Placement> | undefined;
  readonly #recentOwners = new RecentOwners();
  readonly #unreached = new UnreachedMarks();

  constructor(options: LoopOptions) {
    this.#options = options;
    this.store = options.store;
    this.bus = options.bus;
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.now();
    this.owner = options.owner ?? loopOwner(this.startedAt);
    this.#config = options.config;
    this.estimator = new RuntimeEstimator(options.config.types);
    for (const host of options.config.hosts) this.slots.set(host.name, new HostSlots(host));
    this.#waiting = new WaitingTasks(this.bus);
    this.#inProgress = new InProgressTasks(this.store);
    this.#wake = new WakeTimer(this.clock, () => this.kick());
    this.#control = new ControlWatcher(this.store, this.bus, () => this.kick());
    this.#runner = new Runner({
      store: this.store,
      bus: this.bus,
      clock: this.clock,
      owner: this.owner,
      config: () => this.#config,
      transport: options.transport,
      estimator: this.estimator,
      totals: this.totals,
      log: options.log ?? silentLogger,
      random: options.random ?? Math.random,
      heldElsewhere: (host) => this.#heldElsewhere.get(host) ?? [],
      ...(options.extendContext ? { extendContext: options.extendContext } : {}),
      aborting: () => this.#aborting || this.#state === 'stopped',
      kick: () => this.kick(),
    });
  }

  /** Why each ready task that is not running waits. */
  get holdups(): ReadonlyMap<string, Holdup> {
    return this.#waiting.holdups;
  }
  get state(): LoopState {
    return this.#state;
  }
  get config(): YggConfig {
    return this.#config;
  }
  get paused(): boolean {
    return this.#control.state.paused;
  }
  get drained(): readonly string[] {
    return this.#control.state.drained;
  }
  /** What runs now, by task id. */
  get running(): ReadonlyMap<string, RunningAttempt> {
    return this.#runner.running;
  }
  /** True once running attempts were aborted by a forced stop or the grace timeout. */
  get forced(): boolean {
    return this.#forced;
  }
  now(): number {
    return this.clock.now();
  }

  /** Tasks this loop holds now: being claimed, running, or having their outcome written. */
  inFlightIds(): string[] {
    return this.#runner.inFlightIds();
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`loop cannot start from state ${this.#state}`);
    this.#setState('running');
    // The control file's folder must exist for its watch to start.
    await mkdir(this.store.runtimeDir, { recursive: true });
    await this.#control.start();
    this.#cleanups.push(
      () => this.#control.stop(),
      // A store shared by machines: the other loops learn at once when this process dies.
      this.store.holdOwner?.(this.owner) ?? (() => undefined),
      this.store.watch((change) => this.#onStoreChange(change)),
      watchStoreConnection(this.store, this.bus, () => this.kick()),
      this.bus.on('host:down', ({ host }) => {
        this.#runner.stopAll('host-down', `host ${host} went down`, host);
        this.kick();
      }),
      this.bus.on('host:up', () => this.kick()),
      // Free GPU memory changed: a vram-bound type may fit again.
      this.bus.on('gpu:sample', () => this.kick()),
    );
    if (this.store.handOffToLoop && this.#options.intake !== false) {
      const intake = await AddIntake.open(this.store, (task) =>
        this.bus.emit('task:added', { taskId: task.id, via: 'intake' }),
      );
      if (intake) this.#cleanups.push(() => intake.close());
    }
    this.#pollTimer = this.clock.setInterval(
      () => void this.#control.reload(),
      this.#config.queue.pollIntervalMs,
    );
    this.kick();
  }

  /** Replace the configuration (hosts.yaml changed or SIGHUP); running work keeps its slots. */
  reconfigure(config: YggConfig): void {
    this.#config = config;
    this.#types = new WeakMap();
    resizeSlots(this.slots, config.hosts);
    this.#unreached.arrived();
    this.bus.emit('config:reloaded', { path: config.sourcePath ?? '(built in)' });
    this.kick();
  }

  /** Schedule a pass soon; many calls in one turn of the event loop make one pass. */
  kick(): void {
    if (this.#passQueued || this.#state !== 'running') return;
    this.#passQueued = true;
    setImmediate(() => {
      this.#passQueued = false;
      this.#pass();
    });
  }

  /** Look again at `at` (ms on the loop's clock): for admission checks that hold a task until then. */
  wakeAt(at: number): void {
    this.#wake.at(at);
  }

  /**
   * Resolves when nothing is ready, running, or waiting for a retry or a lease to lapse: `idle`.
   * With `hostsDownMs`, also once the ready tasks have waited that long on hosts that are down or
   * drained and nothing runs: `hosts-down`.
   */
  untilIdle(hostsDownMs?: number): Promise<IdleEnd> {
    this.#hostsDownMs = hostsDownMs;
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.kick();
    });
  }

  /** Stop a running attempt because its task was cancelled (`ygg cancel`, the status server). */
  cancelRunning(id: string, by: string): boolean {
    return this.#runner.stop(id, 'cancelled', by);
  }

  /**
   * Stop: no new claims; running attempts finish. Past `graceMs` (or at once with `force`) they
   * are aborted and reopened so they run again later. Safe to call twice; the second call may
   * force a stop that the first let run.
   */
  async stop(options: { force?: boolean; graceMs?: number } = {}): Promise<void> {
    if (options.force) this.#abortAll();
    if (this.#stopping) return this.#stopping;
    if (this.#state === 'created') return this.#setState('stopped');
    this.#setState('stopping');
    this.#stopping = (async () => {
      const grace = options.graceMs ?? this.#config.queue.shutdownGraceMs;
      const timer = this.clock.setTimeout(() => this.#abortAll(), grace);
      await this.#runner.allSettled();
      this.clock.clearTimeout(timer);
      this.#wake.cancel();
      this.clock.clearInterval(this.#pollTimer);
      for (const cleanup of this.#cleanups.splice(0)) cleanup();
      await this.store.flush();
      this.#setState('stopped');
      this.#endHostsDown();
      for (const resolve of this.#idleWaiters.splice(0)) resolve('idle');
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ force: true });
  }

  /** Time the task of this id was first seen ready, for wait-time figures. */
  readySince(id: string): number | undefined {
    return this.#waiting.readySince(id);
  }
  typeOf(task: Task): string {
    let type = this.#types.get(task);
    if (type === undefined) {
      type = classifyType(task, this.#config);
      this.#types.set(task, type);
    }
    return type;
  }
  typeConfig(type: string): TypeConfig {
    return typeConfigFor(this.#config, type);
  }

  /** The plugin that runs a task: the one it names, else its type's config, else its type's plugin. */
  pluginFor(task: Task, type: string): Plugin | undefined {
    const named = yggOf(task).handler ?? this.typeConfig(type).handler;
    if (named) return this.#options.plugins.byName.get(named);
    return this.#options.plugins.byType.get(type);
  }

  #setState(state: LoopState): void {
    this.#state = state;
    this.bus.emit('loop:state', { state: state === 'created' ? 'starting' : state });
  }

  #onStoreChange(change: StoreChange): void {
    this.#inProgress.changed(change);
    const now = this.clock.now();
    // The wait (ready to started) of a new task counts from when it arrived, if it arrived ready.
    if (change.added.length > 0) {
      this.#waiting.arrived(change.added, new Set(this.store.ready().map((t) => t.id)), now);
      this.#unreached.arrived();
    }
    for (const id of [...change.changed, ...change.removed]) {
      const task = this.store.get(id);
      if (!task || statusOf(task) !== 'open') this.#waiting.forget(id);
      // Reopened or edited while it waits: its mark may be wrong now.
      else this.#unreached.arrived();
    }
    void this.#runner.onChange([...change.changed, ...change.removed], change.external);
    this.kick();
  }

  #abortAll(): void {
    this.#aborting = true;
    if (this.#runner.running.size > 0) this.#forced = true;
    this.#runner.stopAll('shutdown', 'ygg is shutting down');
  }

  #pass(): void {
    if (this.#state !== 'running') return;
    let later = false;
    let launched = 0;
    let hostsOnly = false;
    // Paused, or a database store that cannot be reached: nothing is claimed.
    if (!this.paused && storeReachable(this.store)) {
      const result = runPass(this.#passContext(), this.clock.now());
      this.#heldElsewhere = result.heldElsewhere;
      this.#plan = result.plan;
      ({ later, launched } = result);
      hostsOnly = result.waitsOnHostsOnly;
      this.#wake.at(result.nextWake);
    } else if (this.store.ready().length > 0) {
      later = true;
    }
    const still = launched === 0 && this.#runner.busy === 0;
    if (still && !later) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve('idle');
    }
    this.#watchHostsDown(still && hostsOnly);
  }

  /** Ends `untilIdle` once the ready tasks have waited `hostsDownMs` on down hosts alone. */
  #watchHostsDown(waiting: boolean): void {
    const bound = this.#hostsDownMs;
    if (!waiting || bound === undefined || this.#idleWaiters.length === 0) {
      this.#endHostsDown();
      return;
    }
    const now = this.clock.now();
    if (!this.#hostsDown) {
      const timer = this.clock.setTimeout(() => this.kick(), bound);
      this.#hostsDown = { since: now, timer };
      return;
    }
    if (now - this.#hostsDown.since < bound) return;
    this.#endHostsDown();
    for (const resolve of this.#idleWaiters.splice(0)) resolve('hosts-down');
  }

  #endHostsDown(): void {
    if (this.#hostsDown) this.clock.clearTimeout(this.#hostsDown.timer);
    this.#hostsDown = undefined;
  }

  #passContext(): PassContext {
    return {
      config: this.#config,
      store: this.store,
      runner: this.#runner,
      waiting: this.#waiting,
      inProgress: this.#inProgress,
      slots: this.slots,
      drained: this.drained,
      options: this.#options,
      extensions: this.#options,
      view: this,
      plan: this.#plan,
      recentOwners: this.#recentOwners,
      unreached: this.#unreached,
      typeConfig: (type) => this.typeConfig(type),
      pluginFor: (task, type) => this.pluginFor(task, type),
    };
  }
}
