/**
 * The dispatch loop: watches the store, orders ready tasks, routes each to a host with a free
 * slot, runs its handler and writes the outcome back.
 *
 *   created ──start()──▶ running ──stop()──▶ stopping ──(running attempts end)──▶ stopped
 *                                   └──stop({ force }) or grace timeout: attempts aborted, reopened
 *
 * A pass is cheap and event-driven: it runs when the store changes, a slot frees, a retry or a
 * lease comes due, or the safety-net poll fires. It never waits on a full host (no head-of-line
 * blocking) and never claims more than it can start now (no prefetch).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { classifyType, typeConfigFor } from '../config/type-rules.js';
import type { HostConfig, TypeConfig, YggConfig } from '../config/types.js';
import type { Transport } from '../hosts/transport.js';
import type { EventBus } from '../observe/events.js';
import type { HandlerContext, HandlerLogger, Plugin } from '../plugins/api.js';
import type { PluginSet } from '../plugins/loader.js';
import { RuntimeEstimator } from '../schedule/estimates.js';
import { type Placement, planMakespan } from '../schedule/makespan.js';
import { orderForMakespan } from '../schedule/order.js';
import { type RouteDecision, type RouteRequest, route } from '../schedule/router.js';
import { HostSlots, type Slot } from '../schedule/slots.js';
import type { StoreChange, TaskStore } from '../store/store.js';
import { statusOf, type Task, yggOf } from '../store/task.js';
import { type AttemptControl, startAttempt } from './attempt.js';
import { type Clock, systemClock } from './clock.js';
import { type ControlState, readControl, watchControl } from './control.js';
import { finishAttempt } from './finish.js';
import { heldByDependency } from './held.js';
import { loopOwner } from './owner.js';
import { claim, failedHosts, isClaimable, renewLease } from './transitions.js';

export type LoopState = 'created' | 'running' | 'stopping' | 'stopped';

export interface LoopOptions {
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
  /** Adds extension members (model endpoint, tool queue, ...) to each handler context. */
  extendContext?: (ctx: HandlerContext, info: { task: Task; slot: Slot; control: AttemptControl }) => void;
  /** Orders the ready tasks before routing (fair scheduling, makespan); default keeps store order. */
  order?: (tasks: readonly Task[], loop: Loop) => readonly Task[];
  /** Admission checks beyond routing (rate limits, staleness); a string says why a task waits. */
  admit?: (task: Task, type: string) => string | undefined;
  /** Called as a task is taken for a slot, its claim just queued (fair turns and rate limits count starts). */
  launched?: (task: Task, type: string) => void;
}

/** Why a ready task is not running, as shown by `ygg list --ready`, the monitor and the log. */
export interface Holdup {
  kind: 'unroutable' | 'waiting' | 'assigned' | 'held' | 'retry' | 'no-handler' | 'admission';
  reason: string;
  type: string;
}

export interface RunningAttempt {
  task: Task;
  type: string;
  host: string;
  slot: Slot;
  token: number;
  attempt: number;
  plugin: Plugin;
  control: AttemptControl;
  startedAt: number;
  progress?: string;
  fraction?: number;
}

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

const leaseRenewFraction = 1 / 3;
/** Tasks planned at once in makespan mode; the rest wait for the next pass's plan. */
const makespanPlanLimit = 256;

export class Loop {
  readonly owner: string;
  readonly bus: EventBus;
  readonly store: TaskStore;
  readonly totals: LoopTotals = {
    succeeded: 0,
    failed: 0,
    retried: 0,
    dead: 0,
    cancelled: 0,
    lost: 0,
    busyMs: new Map(),
  };
  readonly running = new Map<string, RunningAttempt>();
  readonly holdups = new Map<string, Holdup>();
  readonly slots = new Map<string, HostSlots>();
  readonly clock: Clock;
  readonly startedAt: number;
  /** Expected run time per type and host, from the config's estimates and observed runs. */
  readonly estimator: RuntimeEstimator;

  #state: LoopState = 'created';
  #config: YggConfig;
  #control: ControlState = { paused: false, drained: [] };
  /** Tasks whose claim is being written: their type and the host whose slot they hold. */
  readonly #claiming = new Map<string, { type: string; host: string }>();
  /** Tasks whose attempt ended and whose outcome is being written. */
  readonly #finishing = new Set<string>();
  readonly #attemptDone = new Set<Promise<void>>();
  readonly #firstReadyAt = new Map<string, number>();
  readonly #options: LoopOptions;
  #passQueued = false;
  #wakeTimer: unknown;
  #wakeAt = Number.POSITIVE_INFINITY;
  #pollTimer: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];
  #pendingLater = false;
  #orphans: string[] = [];
  #orphanScanDue = true;
  #orphanScanAt = 0;
  #cleanups: Array<() => void> = [];
  #stopping: Promise<void> | undefined;
  #forced = false;
  /** Running work was told to stop (forced stop, or the grace period ran out). */
  #aborting = false;
  #plan: Map<string, Placement> | undefined;

  /** Tasks this loop holds now: being claimed, running, or having their outcome written. */
  inFlightIds(): string[] {
    return [...new Set([...this.#claiming.keys(), ...this.running.keys(), ...this.#finishing])];
  }

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

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`loop cannot start from state ${this.#state}`);
    this.#setState('running');
    // The control file's folder must exist for its watch to start.
    await mkdir(this.store.runtimeDir, { recursive: true });
    this.#control = await readControl(this.store.runtimeDir);
    this.#cleanups.push(this.store.watch((change) => this.#onStoreChange(change)));
    this.#cleanups.push(
      watchControl(this.store.runtimeDir, () => {
        void this.#reloadControl();
      }),
    );
    this.#cleanups.push(
      this.bus.on('host:down', ({ host }) => {
        for (const run of this.running.values()) {
          if (run.host === host) run.control.stop('host-down', `host ${host} went down`);
        }
        this.kick();
      }),
      this.bus.on('host:up', () => this.kick()),
      // Free GPU memory changed: a vram-bound type may fit again.
      this.bus.on('gpu:sample', () => this.kick()),
    );
    this.#pollTimer = setInterval(() => {
      this.#orphanScanDue = true;
      void this.#reloadControl();
      this.kick();
    }, this.#config.queue.pollIntervalMs);
    this.#pollTimer.unref();
    this.kick();
  }

  /** Replace the configuration (hosts.yaml changed or SIGHUP); running work keeps its slots. */
  reconfigure(config: YggConfig): void {
    this.#config = config;
    for (const host of config.hosts) {
      const existing = this.slots.get(host.name);
      if (!existing || existing.total !== host.slots) {
        // New slot counts apply to new work; attempts holding old slots release into the old semaphore.
        if (!existing || existing.used === 0) this.slots.set(host.name, new HostSlots(host));
      }
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
    const run = this.running.get(id);
    if (!run) return false;
    run.control.stop('cancelled', by);
    return true;
  }

  /**
   * Stop: no new claims; running attempts finish. Past `graceMs` (or at once with `force`) they
   * are aborted and reopened so they run again later. Safe to call twice; the second call may
   * force a stop that the first let run.
   */
  async stop(options: { force?: boolean; graceMs?: number } = {}): Promise<void> {
    if (options.force) this.#abortAll();
    if (this.#stopping) return this.#stopping;
    if (this.#state === 'created') {
      this.#setState('stopped');
      return;
    }
    this.#setState('stopping');
    this.#stopping = (async () => {
      const grace = options.graceMs ?? this.#config.queue.shutdownGraceMs;
      const timer = setTimeout(() => this.#abortAll(), grace);
      try {
        while (this.#attemptDone.size > 0 || this.#claiming.size > 0) {
          await Promise.race([...this.#attemptDone, new Promise((r) => setTimeout(r, 50))]);
        }
      } finally {
        clearTimeout(timer);
      }
      if (this.#wakeTimer !== undefined) this.clock.clearTimeout(this.#wakeTimer);
      if (this.#pollTimer) clearInterval(this.#pollTimer);
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

  /** Time the first task of this id was seen ready, for wait-time figures. */
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
    if (change.external) this.#orphanScanDue = true;
    for (const id of [...change.changed, ...change.removed]) {
      const run = this.running.get(id);
      if (!run) continue;
      const task = this.store.get(id);
      if (!task || statusOf(task) !== 'in_progress' || yggOf(task).lease?.token !== run.token) {
        run.control.stop('cancelled', describeCanceller(task));
      }
    }
    this.kick();
  }

  /** True once running attempts were aborted by a forced stop or the grace timeout. */
  get forced(): boolean {
    return this.#forced;
  }

  #abortAll(): void {
    this.#aborting = true;
    if (this.running.size > 0) this.#forced = true;
    for (const run of this.running.values()) run.control.stop('shutdown', 'ygg is shutting down');
  }

  #pass(): void {
    if (this.#state !== 'running') return;
    const now = this.clock.now();
    this.#pendingLater = false;
    let nextWake = Number.POSITIVE_INFINITY;
    let launched = 0;
    if (!this.#control.paused) {
      const candidates = this.#candidates(now);
      const makespan = this.#config.queue.order === 'makespan';
      const ordered = this.#options.order
        ? this.#options.order(candidates, this)
        : makespan
          ? orderForMakespan(candidates, this.estimator, (t) => this.typeOf(t))
          : candidates;
      this.#plan = makespan ? this.#makespanPlan(ordered, now) : undefined;
      const runningTypes = new Map<string, number>();
      for (const run of this.running.values())
        runningTypes.set(run.type, (runningTypes.get(run.type) ?? 0) + 1);
      // Claims not yet durable count too, or a pass in between could start one past a type's cap.
      for (const { type } of this.#claiming.values())
        runningTypes.set(type, (runningTypes.get(type) ?? 0) + 1);
      // So do tasks other loops on the store run, for the capped types (caps are global).
      for (const [type, count] of this.#othersRunningCapped(now))
        runningTypes.set(type, (runningTypes.get(type) ?? 0) + count);
      for (const task of ordered) {
        if (this.#freeSlots() === 0) {
          this.#pendingLater = true;
          break;
        }
        const wake = this.#consider(task, now, runningTypes);
        if (wake === 'launched') launched += 1;
        else if (typeof wake === 'number') nextWake = Math.min(nextWake, wake);
      }
    } else if (this.store.ready().length > 0) {
      this.#pendingLater = true;
    }
    if (this.#orphans.length > 0) this.#pendingLater = true;
    this.#scheduleWake(nextWake, now);
    const busy = this.running.size + this.#claiming.size + this.#finishing.size;
    if (launched === 0 && busy === 0 && !this.#pendingLater) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  #freeSlots(): number {
    let free = 0;
    for (const [name, slots] of this.slots) {
      if (!this.#control.drained.includes(name) && this.#hostUp(name)) free += slots.free;
    }
    return free;
  }

  /** Ready tasks in store order, plus in-progress tasks whose lease lapsed (their loop died). */
  #candidates(now: number): readonly Task[] {
    const ready = this.store.ready(new Date(now));
    if (this.#orphanScanDue || now >= this.#orphanScanAt) this.#scanOrphans(now);
    const orphans = this.#orphans.filter((id) => !this.running.has(id) && !this.#claiming.has(id));
    if (orphans.length === 0) return ready;
    const tasks = orphans
      .map((id) => this.store.get(id))
      .filter((t): t is Task => !!t && isClaimable(t, this.owner, now));
    return [...ready, ...tasks];
  }

  /**
   * In-progress tasks held by no running attempt of ours: claimable once their lease lapsed (or
   * their loop's process is gone). Scanned when the store changed under us or a lease comes due,
   * not on every pass: the whole task list is long.
   */
  #scanOrphans(now: number): void {
    this.#orphanScanDue = false;
    this.#orphanScanAt = Number.POSITIVE_INFINITY;
    this.#orphans = [];
    for (const task of this.store.list(['in_progress'])) {
      if (this.running.has(task.id)) continue;
      const lease = yggOf(task).lease;
      if (!lease || lease.owner === this.owner) continue;
      this.#orphans.push(task.id);
      if (!isClaimable(task, this.owner, now)) {
        // Another loop holds it; look again when its lease would lapse.
        const expires = Date.parse(lease.expires) + 1;
        this.#orphanScanAt = Math.min(this.#orphanScanAt, expires);
        this.#scheduleWake(expires, now);
      }
    }
    if (this.#orphans.length > 0) this.#pendingLater = true;
  }

  /** Decide for one task: launch it, note why it waits, or return when to look again. */
  #consider(task: Task, now: number, runningTypes: Map<string, number>): 'launched' | number | undefined {
    if (this.running.has(task.id) || this.#claiming.has(task.id) || this.#finishing.has(task.id))
      return undefined;
    const type = this.typeOf(task);
    const meta = yggOf(task);
    if (statusOf(task) === 'open' && task.assignee && task.assignee !== 'ygg') {
      this.#hold(task, {
        kind: 'assigned',
        type,
        reason: `assigned to ${task.assignee}; ygg leaves it to them`,
      });
      return undefined;
    }
    const nextTry = meta.next_try_at ? Date.parse(meta.next_try_at) : Number.NaN;
    if (nextTry > now) {
      this.#pendingLater = true;
      this.#hold(task, { kind: 'retry', type, reason: `retrying at ${meta.next_try_at}` }, false);
      return nextTry;
    }
    // Ready since its backoff ended (the backoff is not waiting for a slot), or since now.
    if (!this.#firstReadyAt.has(task.id)) this.#firstReadyAt.set(task.id, nextTry <= now ? nextTry : now);
    const held = heldByDependency(task, this.store);
    if (held) {
      this.#hold(task, { kind: 'held', type, reason: held });
      return undefined;
    }
    const plugin = this.pluginFor(task, type);
    if (!plugin) {
      const named = meta.handler ?? this.typeConfig(type).handler;
      this.#hold(task, {
        kind: 'no-handler',
        type,
        reason: named
          ? `no handler plugin named "${named}" is loaded`
          : `no handler plugin serves type "${type}"`,
      });
      return undefined;
    }
    const config = this.typeConfig(type);
    if (this.#options.legacy && (runningTypes.get(type) ?? 0) > 0) {
      this.#pendingLater = true;
      return undefined;
    }
    if (config.maxConcurrent !== undefined && (runningTypes.get(type) ?? 0) >= config.maxConcurrent) {
      this.#pendingLater = true;
      return undefined;
    }
    const admission = this.#options.admit?.(task, type);
    if (admission) {
      this.#pendingLater = true;
      this.#hold(task, { kind: 'admission', type, reason: admission }, false);
      return undefined;
    }
    const decision = this.#plan ? this.#routeMakespan(task, type, config) : this.#route(task, type, config);
    if (decision.kind === 'busy') {
      this.#pendingLater = true;
      this.holdups.delete(task.id);
      return undefined;
    }
    if (decision.kind === 'waiting') {
      this.#pendingLater = true;
      this.#hold(task, { kind: 'waiting', type, reason: decision.reason });
      return undefined;
    }
    if (decision.kind === 'unroutable') {
      this.#hold(task, { kind: 'unroutable', type, reason: decision.reason });
      return undefined;
    }
    // A task that declares GPU memory takes a slot on a GPU that has it free, not just any slot.
    const gpuFits = this.#options.gpuFits;
    const vramGb = config.vramGb;
    const slot = this.slots
      .get(decision.host)
      ?.tryAcquire(gpuFits && vramGb ? (gpus) => gpuFits(decision.host, gpus, vramGb) : undefined);
    if (!slot) {
      this.#pendingLater = true;
      return undefined;
    }
    this.holdups.delete(task.id);
    runningTypes.set(type, (runningTypes.get(type) ?? 0) + 1);
    this.#claiming.set(task.id, { type, host: decision.host });
    const done = this.#launch(task, type, plugin, slot).finally(() => {
      this.#attemptDone.delete(done);
    });
    this.#attemptDone.add(done);
    this.#options.launched?.(task, type);
    return 'launched';
  }

  #route(task: Task, type: string, config: TypeConfig): RouteDecision {
    const hosts = new Map(
      [...this.slots].map(([name, slots]) => {
        const usable = this.#options.usableSlots?.(name, config.vramGb, slots.used) ?? slots.effective;
        const effective = Math.min(slots.effective, usable);
        return [
          name,
          {
            name,
            up: this.#hostUp(name),
            draining: this.#control.drained.includes(name),
            free: Math.max(0, Math.min(slots.free, effective - slots.used)),
            used: slots.used,
            effective,
          },
        ];
      }),
    );
    const request: RouteRequest = { type, preference: config.hosts, hosts, avoid: failedHosts(task) };
    const refusal = this.#options.refusal;
    if (refusal) request.accepts = (host) => refusal(host, task, type);
    if (this.#options.random) request.random = this.#options.random;
    return route(request);
  }

  /**
   * The makespan plan for the tasks of the most urgent priority among `ordered` (later priorities
   * wait for it anyway): each host's slots, free now or when their running task should end.
   */
  #makespanPlan(ordered: readonly Task[], now: number): Map<string, Placement> {
    const slotFreeIn = new Map<string, number[]>();
    for (const [name, slots] of this.slots) {
      if (this.#control.drained.includes(name) || !this.#hostUp(name)) continue;
      const busy = [...this.running.values()]
        .filter((r) => r.host === name)
        .map((r) => Math.max(1, r.startedAt + this.estimator.expected(r.type, name) - now));
      // A slot whose claim is still being written is busy for the whole of its task.
      for (const claim of this.#claiming.values()) {
        if (claim.host === name) busy.push(this.estimator.expected(claim.type, name));
      }
      slotFreeIn.set(name, [...Array.from({ length: slots.free }, () => 0), ...busy]);
    }
    const top = ordered.length > 0 ? (ordered[0]!.priority ?? 0) : 0;
    const planned = ordered
      .filter((t) => (t.priority ?? 0) === top && !this.running.has(t.id) && !this.#claiming.has(t.id))
      .slice(0, makespanPlanLimit)
      .map((task) => {
        const type = this.typeOf(task);
        return {
          id: task.id,
          hosts: this.typeConfig(type)
            .hosts.flat()
            .filter((h) => slotFreeIn.has(h)),
          ms: (host: string) => this.estimator.expected(type, host),
        };
      });
    return planMakespan(planned, slotFreeIn, this.#plan);
  }

  /** Makespan routing: the slot the plan gave the task, now if it is free, else wait for it. */
  #routeMakespan(task: Task, type: string, config: TypeConfig): RouteDecision {
    const plain = this.#route(task, type, config);
    if (plain.kind !== 'assign' && plain.kind !== 'busy') return plain;
    const placed = this.#plan!.get(task.id);
    if (!placed) return plain;
    if (placed.startMs > 0 || (this.slots.get(placed.host)?.free ?? 0) === 0) return { kind: 'busy' };
    return { kind: 'assign', host: placed.host };
  }

  #hostUp(name: string): boolean {
    return this.#options.hostUp ? this.#options.hostUp(name) : true;
  }

  /** Record why a task waits; report it once (an event and a log line), not on every pass. */
  #hold(task: Task, holdup: Holdup, report = true): void {
    const previous = this.holdups.get(task.id);
    this.holdups.set(task.id, holdup);
    if (!report || previous?.reason === holdup.reason) return;
    if (
      holdup.kind === 'unroutable' ||
      holdup.kind === 'no-handler' ||
      holdup.kind === 'waiting' ||
      holdup.kind === 'held' ||
      holdup.kind === 'assigned'
    ) {
      this.bus.emit('task:unroutable', { taskId: task.id, type: holdup.type, reason: holdup.reason });
    }
  }

  #scheduleWake(at: number, now: number): void {
    if (!Number.isFinite(at) || at >= this.#wakeAt) return;
    if (this.#wakeTimer !== undefined) this.clock.clearTimeout(this.#wakeTimer);
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

  /** Per capped type, its tasks in progress under another owner's live lease. */
  #othersRunningCapped(now: number): Map<string, number> {
    const counts = new Map<string, number>();
    const capped = Object.values(this.#config.types).some((t) => t.maxConcurrent !== undefined);
    if (!capped) return counts;
    for (const task of this.store.list(['in_progress'])) {
      const lease = yggOf(task).lease;
      if (this.running.has(task.id) || this.#claiming.has(task.id) || !lease || lease.owner === this.owner)
        continue;
      if (Date.parse(lease.expires) <= now) continue;
      const type = this.typeOf(task);
      if (this.typeConfig(type).maxConcurrent === undefined) continue;
      counts.set(type, (counts.get(type) ?? 0) + 1);
    }
    return counts;
  }

  async #launch(task: Task, type: string, plugin: Plugin, slot: Slot): Promise<void> {
    const hostSlots = this.slots.get(slot.host)!;
    this.#orphans = this.#orphans.filter((id) => id !== task.id);
    let claimed: Task | undefined;
    try {
      const now = this.clock.now();
      const max = this.typeConfig(type).maxConcurrent;
      claimed = await this.store.update(
        task.id,
        claim({
          owner: this.owner,
          host: slot.host,
          leaseMs: this.#config.queue.leaseMs,
          now,
          ...(max === undefined ? {} : { cap: { type, max, typeOf: (t: Task) => this.typeOf(t) } }),
        }),
      );
    } catch (error) {
      this.#options.log?.error({ task_id: task.id, err: String(error) }, 'claim failed');
    } finally {
      this.#claiming.delete(task.id);
    }
    // A claim that lands during a graceful stop runs like the others already running; one that
    // lands after running work was aborted is handed back.
    if (!claimed || this.#aborting || this.#state === 'stopped') {
      hostSlots.release(slot);
      if (claimed) await this.#releaseClaim(claimed);
      this.kick();
      return;
    }
    const host = this.#config.hosts.find((h) => h.name === slot.host)!;
    const meta = yggOf(claimed);
    const token = meta.lease!.token;
    const attempt = meta.attempt ?? 1;
    const config = this.typeConfig(type);
    const readyAt = this.#firstReadyAt.get(task.id) ?? this.clock.now();
    this.#firstReadyAt.delete(task.id);
    const claimedAt = this.clock.now();
    this.totals.firstStart ??= claimedAt;
    this.bus.emit('task:claimed', {
      taskId: task.id,
      type,
      host: host.name,
      attempt,
      waitMs: claimedAt - readyAt,
    });

    let run: RunningAttempt | undefined;
    const { control, done } = startAttempt({
      task: claimed,
      type,
      plugin,
      host,
      transport: this.#options.transport(host),
      attempt,
      gpus: slot.gpus,
      artifactsDir: join(this.store.runtimeDir, 'artifacts', task.id, String(attempt)),
      // The task's own, its type's, its handler's, then the defaults'.
      timeoutMs: meta.timeout_ms ?? config.timeoutMs ?? plugin.timeoutMs ?? this.#config.defaults.timeoutMs,
      hardTimeoutMs:
        meta.hard_timeout_ms ??
        config.hardTimeoutMs ??
        plugin.hardTimeoutMs ??
        this.#config.defaults.hardTimeoutMs,
      log: this.#options.log ?? silentLogger,
      onProgress: (text, fraction) => {
        if (run) {
          run.progress = text;
          if (fraction !== undefined) run.fraction = fraction;
        }
        this.bus.emit('task:progress', {
          taskId: task.id,
          host: host.name,
          attempt,
          text,
          ...(fraction === undefined ? {} : { fraction }),
        });
      },
      onHeartbeat: () => {
        void this.#renew(task.id, token, control);
      },
      extend: (ctx, ctl) => this.#options.extendContext?.(ctx, { task: claimed!, slot, control: ctl }),
    });
    run = {
      task: claimed,
      type,
      host: host.name,
      slot,
      token,
      attempt,
      plugin,
      control,
      startedAt: claimedAt,
    };
    this.running.set(task.id, run);
    this.bus.emit('slots:changed', {
      host: host.name,
      used: hostSlots.used,
      total: hostSlots.total,
      effective: hostSlots.effective,
    });
    this.bus.emit('task:started', { taskId: task.id, type, host: host.name, attempt, handler: plugin.name });
    const renewEvery = Math.max(50, this.#config.queue.leaseMs * leaseRenewFraction);
    const renewTimer = setInterval(() => void this.#renew(task.id, token, control), renewEvery);
    renewTimer.unref();
    let released = false;
    const releaseSlot = () => {
      if (released) return;
      released = true;
      const endedAt = this.clock.now();
      this.totals.busyMs.set(host.name, (this.totals.busyMs.get(host.name) ?? 0) + (endedAt - claimedAt));
      this.running.delete(task.id);
      // Release into the semaphore the slot came from, even if the config was reloaded meanwhile.
      hostSlots.release(slot);
      this.bus.emit('slots:changed', {
        host: host.name,
        used: hostSlots.used,
        total: hostSlots.total,
        effective: hostSlots.effective,
      });
      this.kick();
    };
    try {
      const outcome = await done;
      clearInterval(renewTimer);
      if (outcome.kind === 'succeeded') this.estimator.observe(type, host.name, outcome.runMs);
      // The host's work is over: its slot goes to the next task while the outcome is written.
      this.#finishing.add(task.id);
      releaseSlot();
      await finishAttempt(this, {
        run,
        outcome,
        typeConfig: config,
        random: this.#options.random ?? Math.random,
      });
    } catch (error) {
      this.#options.log?.error({ task_id: task.id, err: String(error) }, 'writing the outcome failed');
    } finally {
      clearInterval(renewTimer);
      releaseSlot();
      this.#finishing.delete(task.id);
      this.totals.lastEnd = this.clock.now();
      this.kick();
    }
  }

  /** A claim that landed after stop() began: give the task straight back. */
  async #releaseClaim(task: Task): Promise<void> {
    const { releaseInterrupted } = await import('./transitions.js');
    const token = yggOf(task).lease?.token ?? 0;
    await this.store.update(
      task.id,
      releaseInterrupted({
        token,
        now: this.clock.now(),
        outcome: 'cancelled',
        error: 'ygg stopped before it ran',
      }),
    );
  }

  async #renew(id: string, token: number, control: AttemptControl): Promise<void> {
    if (control.signal.aborted) return;
    try {
      const renewed = await this.store.update(
        id,
        renewLease(token, this.#config.queue.leaseMs, this.clock.now()),
      );
      if (!renewed && this.running.get(id)?.token === token) {
        const task = this.store.get(id);
        const theirs = task && statusOf(task) === 'in_progress' && yggOf(task).lease?.token !== token;
        control.stop(theirs ? 'lease-lost' : 'cancelled', describeCanceller(task));
      }
    } catch (error) {
      this.#options.log?.warn({ task_id: id, err: String(error) }, 'lease renewal failed; will try again');
    }
  }
}

function describeCanceller(task: Task | undefined): string {
  if (!task) return 'the task was removed from the store';
  if (yggOf(task).cancelled?.by) return yggOf(task).cancelled!.by!;
  if (statusOf(task) === 'closed')
    return task.close_reason === 'cancelled' ? 'ygg cancel' : 'someone closed it';
  if (statusOf(task) === 'open') return 'someone reopened it';
  return `someone set it ${statusOf(task)}`;
}

const silentLogger: HandlerLogger = { debug() {}, info() {}, warn() {}, error() {} };
