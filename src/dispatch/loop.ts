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
import { orderForMakespan } from '../schedule/order.js';
import { HostSlots } from '../schedule/slots.js';
import type { StoreChange, TaskStore } from '../store/store.js';
import { type Task, yggOf } from '../store/task.js';
import { type AdmissionInput, type Decision, decide, type Holdup } from './admission.js';
import { scanInProgress } from './candidates.js';
import { type Clock, systemClock } from './clock.js';
import { type ControlState, readControl, watchControl } from './control.js';
import type { DispatchExtensions, PassView } from './extensions.js';
import { loopOwner } from './owner.js';
import { freeSlots, type HostsView, makespanPlan, usableSlots } from './routing.js';
import { Runner, type RunningAttempt } from './runner.js';
import { emptyTotals, type LoopTotals } from './settle-writer.js';

export type { Holdup } from './admission.js';
export type { RunningAttempt } from './runner.js';
export type { LoopTotals } from './settle-writer.js';
export type LoopState = 'created' | 'running' | 'stopping' | 'stopped';

export interface LoopOptions extends DispatchExtensions {
  store: TaskStore;
  config: YggConfig;
  plugins: PluginSet;
  bus: EventBus;
  /** The transport for a host (local or SSH), opened lazily by the caller. */
  transport(host: HostConfig): Transport;
  /** Whether a host is up (from health probes); every host is up without one. */
  hostUp?(host: string): boolean;
  /** Slots a host can use now for a task needing `vramGb` (GPU memory); the configured ones without. */
  usableSlots?(host: string, vramGb: number | undefined, used: number): number;
  /** Whether these GPUs of `host` have the free memory a task needing `vramGb` takes (default yes). */
  gpuFits?(host: string, gpus: readonly number[], vramGb: number): boolean;
  /** Why a host cannot take a task (a model it does not serve); undefined when it can. */
  refusal?(host: string, task: Task, type: string): string | undefined;
  clock?: Clock;
  owner?: string;
  /** The Python dispatcher's older behaviour: at most one running task per type. */
  legacy?: boolean;
  random?: () => number;
  log?: HandlerLogger;
}

const silentLogger: HandlerLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class Loop implements PassView {
  readonly owner: string;
  readonly bus: EventBus;
  readonly store: TaskStore;
  readonly totals: LoopTotals = emptyTotals();
  readonly holdups = new Map<string, Holdup>();
  readonly slots = new Map<string, HostSlots>();
  readonly clock: Clock;
  readonly startedAt: number;
  /** Expected run time per type and host, from the config's estimates and observed runs. */
  readonly estimator: RuntimeEstimator;
  readonly #runner: Runner;
  readonly #options: LoopOptions;
  readonly #firstReadyAt = new Map<string, number>();
  #state: LoopState = 'created';
  #config: YggConfig;
  #control: ControlState = { paused: false, drained: [] };
  #heldElsewhere = new Map<string, number[]>();
  #passQueued = false;
  #wakeTimer: unknown;
  #wakeAt = Number.POSITIVE_INFINITY;
  #pollTimer: unknown;
  #idleWaiters: Array<() => void> = [];
  #cleanups: Array<() => void> = [];
  #stopping: Promise<void> | undefined;
  #forced = false;
  /** Running work was told to stop (forced stop, or the grace period ran out). */
  #aborting = false;
  #plan: Map<string, Placement> | undefined;

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

  get state(): LoopState {
    return this.#state;
  }
  get config(): YggConfig {
    return this.#config;
  }
  get paused(): boolean {
    return this.#control.paused;
  }
  get drained(): readonly string[] {
    return this.#control.drained;
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
    this.#control = await readControl(this.store.runtimeDir);
    this.#cleanups.push(
      this.store.watch((change) => this.#onStoreChange(change)),
      watchControl(this.store.runtimeDir, () => void this.#reloadControl()),
      this.bus.on('host:down', ({ host }) => {
        this.#runner.stopAll('host-down', `host ${host} went down`, host);
        this.kick();
      }),
      this.bus.on('host:up', () => this.kick()),
      // Free GPU memory changed: a vram-bound type may fit again.
      this.bus.on('gpu:sample', () => this.kick()),
    );
    this.#pollTimer = this.clock.setInterval(() => {
      void this.#reloadControl();
      this.kick();
    }, this.#config.queue.pollIntervalMs);
    this.kick();
  }

  /** Replace the configuration (hosts.yaml changed or SIGHUP); running work keeps its slots. */
  reconfigure(config: YggConfig): void {
    this.#config = config;
    for (const host of config.hosts) {
      const existing = this.slots.get(host.name);
      // New slot counts apply to new work; attempts holding old slots release into the old semaphore.
      if (!existing || (existing.total !== host.slots && existing.used === 0))
        this.slots.set(host.name, new HostSlots(host));
    }
    for (const name of [...this.slots.keys()]) {
      if (!config.hosts.some((h) => h.name === name) && this.slots.get(name)?.used === 0)
        this.slots.delete(name);
    }
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
    this.#scheduleWake(at, this.clock.now());
  }

  /** Resolves when nothing is ready, running, or waiting for a retry or a lease to lapse. */
  untilIdle(): Promise<void> {
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
      this.clock.clearTimeout(this.#wakeTimer);
      this.clock.clearInterval(this.#pollTimer);
      for (const cleanup of this.#cleanups.splice(0)) cleanup();
      await this.store.flush();
      this.#setState('stopped');
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    })();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop({ force: true });
  }

  /** Time the task of this id was first seen ready, for wait-time figures. */
  readySince(id: string): number | undefined {
    return this.#firstReadyAt.get(id);
  }
  typeOf(task: Task): string {
    return classifyType(task, this.#config);
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

  async #reloadControl(): Promise<void> {
    const next = await readControl(this.store.runtimeDir);
    const before = this.#control;
    this.#control = next;
    if (before.paused !== next.paused) this.bus.emit('queue:paused', { paused: next.paused });
    for (const host of new Set([...before.drained, ...next.drained])) {
      const was = before.drained.includes(host);
      const is = next.drained.includes(host);
      if (was !== is) this.bus.emit('host:drain', { host, draining: is });
    }
    this.kick();
  }

  #onStoreChange(change: StoreChange): void {
    const now = this.clock.now();
    // The wait (ready to started) of a new task counts from when it arrived, if it arrived ready.
    if (change.added.length > 0) {
      const ready = new Set(this.store.ready().map((t) => t.id));
      for (const id of change.added)
        if (ready.has(id) && !this.#firstReadyAt.has(id)) this.#firstReadyAt.set(id, now);
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
    const now = this.clock.now();
    let later = false;
    let nextWake = Number.POSITIVE_INFINITY;
    let launched = 0;
    if (!this.#control.paused) {
      const scan = scanInProgress(this.store, this.owner, now, (id) => this.#runner.isInFlight(id));
      this.#heldElsewhere = scan.elsewhere.slots;
      nextWake = scan.nextExpiry;
      const input = this.#admissionInput(now, scan.elsewhere.types);
      const candidates = [...this.store.ready(new Date(now)), ...scan.lapsed];
      const ordered = this.#order(candidates);
      this.#plan =
        this.#config.queue.order === 'makespan' ? this.#makespanPlan(input.hosts, ordered, now) : undefined;
      if (this.#plan) input.plan = this.#plan;
      for (const task of ordered) {
        if (this.#freeSlots(input.hosts) === 0) {
          later = true;
          break;
        }
        if (this.#runner.isInFlight(task.id)) continue;
        const decision = this.#decide(task, input);
        const outcome = this.#apply(decision, input, now);
        if (outcome === 'launched') launched += 1;
        else if (outcome === 'later') later = true;
        if (decision.kind === 'hold' && decision.at !== undefined) nextWake = Math.min(nextWake, decision.at);
      }
    } else if (this.store.ready().length > 0) {
      later = true;
    }
    this.#scheduleWake(nextWake, now);
    if (launched === 0 && this.#runner.busy === 0 && !later) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  /** One task's decision; a task whose data breaks a rule of ours is held, never the loop. */
  #decide(task: Task, input: AdmissionInput): Decision {
    try {
      return decide(task, input);
    } catch (error) {
      const reason = `ygg cannot read this task: ${error instanceof Error ? error.message : String(error)}`;
      return {
        kind: 'hold',
        task,
        holdup: { kind: 'bad-task', type: 'unknown', reason },
        report: true,
        later: false,
      };
    }
  }

  #apply(decision: Decision, input: AdmissionInput, now: number): 'launched' | 'later' | 'held' {
    const { task } = decision;
    if (decision.kind === 'hold') {
      this.#hold(task, decision.holdup, decision.report);
      if (decision.holdup.kind !== 'retry' && !this.#firstReadyAt.has(task.id))
        this.#firstReadyAt.set(task.id, now);
      return decision.later ? 'later' : 'held';
    }
    // Ready since its backoff ended (the backoff is not waiting for a slot), or since now.
    if (!this.#firstReadyAt.has(task.id)) {
      const nextTry = Date.parse(yggOf(task).next_try_at ?? '');
      this.#firstReadyAt.set(task.id, nextTry <= now ? nextTry : now);
    }
    if (decision.kind === 'later') {
      this.holdups.delete(task.id);
      return 'later';
    }
    this.holdups.delete(task.id);
    const types = input.typesRunning as Map<string, number>;
    types.set(decision.type, (types.get(decision.type) ?? 0) + 1);
    const vramGb = this.typeConfig(decision.type).vramGb;
    const readyAt = this.#firstReadyAt.get(task.id) ?? now;
    this.#firstReadyAt.delete(task.id);
    this.#runner.launch({
      ...decision,
      hostSlots: this.slots.get(decision.slot.host)!,
      usable: usableSlots(input.hosts, decision.slot.host, vramGb),
      readyAt,
    });
    this.#options.launched?.(task, decision.type, this);
    return 'launched';
  }

  #admissionInput(now: number, typesElsewhere: ReadonlyMap<string, number>): AdmissionInput {
    const typesRunning = new Map(typesElsewhere);
    for (const run of this.#runner.running.values())
      typesRunning.set(run.type, (typesRunning.get(run.type) ?? 0) + 1);
    // Claims not yet durable count too, or a pass in between could start one past a type's cap.
    for (const { type } of this.#runner.claiming.values())
      typesRunning.set(type, (typesRunning.get(type) ?? 0) + 1);
    const { hostUp, usableSlots: usable, refusal, random, gpuFits, admit } = this.#options;
    const hosts: HostsView = {
      slots: this.slots,
      heldElsewhere: this.#heldElsewhere,
      drained: this.#control.drained,
      up: (name) => (hostUp ? hostUp(name) : true),
      ...(usable ? { usableSlots: usable } : {}),
      ...(refusal ? { refusal } : {}),
      ...(random ? { random } : {}),
    };
    return {
      now,
      hosts,
      store: this.store,
      typesRunning,
      legacy: this.#options.legacy === true,
      typeOf: (task) => this.typeOf(task),
      typeConfig: (type) => this.typeConfig(type),
      pluginFor: (task, type) => this.pluginFor(task, type),
      ...(admit ? { admit: (task: Task, type: string) => admit(task, type, this) } : {}),
      ...(gpuFits ? { gpuFits } : {}),
    };
  }

  #order(candidates: readonly Task[]): readonly Task[] {
    if (this.#options.order) return this.#options.order(candidates, this);
    if (this.#config.queue.order === 'makespan')
      return orderForMakespan(candidates, this.estimator, (t) => this.typeOf(t));
    return candidates;
  }

  #makespanPlan(hosts: HostsView, ordered: readonly Task[], now: number): Map<string, Placement> {
    const inFlight = [
      ...[...this.#runner.running.values()].map((r) => ({
        host: r.host,
        type: r.type,
        startedAt: r.startedAt,
      })),
      ...[...this.#runner.claiming.values()].map((c) => ({ host: c.host, type: c.type })),
    ];
    const input = {
      now,
      estimator: this.estimator,
      inFlight,
      typeOf: (task: Task) => this.typeOf(task),
      typeConfig: (type: string) => this.typeConfig(type),
      isInFlight: (id: string) => this.#runner.isInFlight(id),
    };
    return makespanPlan(hosts, input, ordered, this.#plan);
  }

  #freeSlots(hosts: HostsView): number {
    let free = 0;
    for (const name of this.slots.keys()) {
      if (!hosts.drained.includes(name) && hosts.up(name)) free += freeSlots(hosts, name);
    }
    return free;
  }

  /** Record why a task waits; report it once (an event and a log line), not on every pass. */
  #hold(task: Task, holdup: Holdup, report: boolean): void {
    const previous = this.holdups.get(task.id);
    this.holdups.set(task.id, holdup);
    if (!report || previous?.reason === holdup.reason) return;
    this.bus.emit('task:unroutable', { taskId: task.id, type: holdup.type, reason: holdup.reason });
  }

  #scheduleWake(at: number, now: number): void {
    if (!Number.isFinite(at) || at >= this.#wakeAt) return;
    this.clock.clearTimeout(this.#wakeTimer);
    this.#wakeAt = at;
    this.#wakeTimer = this.clock.setTimeout(
      () => {
        this.#wakeTimer = undefined;
        this.#wakeAt = Number.POSITIVE_INFINITY;
        this.kick();
      },
      Math.max(0, at - now),
    );
  }
}
