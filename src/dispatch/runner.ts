/**
 * The runner owns each attempt of this loop from claim to outcome, and the map of what runs:
 *
 *   claiming ──claim declined──▶ (slot back, gone)
 *      └──claimed──▶ running ──handler ends──▶ finishing (slot freed; outcome written) ──▶ gone
 *                      │ └──lease lost / cancelled / host down / shutdown──▶ stopped, then finishing
 *                      └──lend (tool call)──▶ running with its slot lent ──reclaim──▶ running
 */
import { join } from 'node:path';
import { typeConfigFor } from '../config/type-rules.js';
import type { HostConfig, YggConfig } from '../config/types.js';
import { attemptMarker } from '../hosts/end-attempt.js';
import type { Transport } from '../hosts/transport.js';
import type { EventBus } from '../observe/events.js';
import type { HandlerContext, HandlerLogger, Plugin } from '../plugins/api.js';
import type { RuntimeEstimator } from '../schedule/estimates.js';
import { hasBoost } from '../schedule/fair.js';
import type { HostSlots, Slot } from '../schedule/slots.js';
import type { TaskStore } from '../store/store.js';
import { statusOf, type Task, yggOf } from '../store/task.js';
import { type AttemptControl, type AttemptOutcome, startAttempt } from './attempt.js';
import { attemptSettings } from './attempt-settings.js';
import type { Clock } from './clock.js';
import { endEarlierAttempts } from './earlier-attempts.js';
import type { AttemptInfo } from './extensions.js';
import { LeaseKeeper } from './lease-keeper.js';
import { applyChange } from './lifecycle/apply.js';
import type { TaskChange } from './lifecycle/changes.js';
import { isRevertOf } from './lifecycle/reassert.js';
import { holds } from './lifecycle/ygg-meta.js';
import { OurVersions } from './our-versions.js';
import type { RunningAttempt } from './running-attempt.js';
import { settle } from './settle.js';
import { type LoopTotals, SettleWriter } from './settle-writer.js';
import { slotLending } from './slot-lending.js';
import { startsShared } from './store-starts.js';

export type { RunningAttempt } from './running-attempt.js';

/** A launch the loop decided: the task, its type and handler, and the slot it took. */
export interface Launch {
  task: Task;
  type: string;
  plugin: Plugin;
  slot: Slot;
  hostSlots: HostSlots;
  /** Usable slots of the host for this type now (checked again under the store's lock). */
  usable: number;
  readyAt: number;
}

export interface RunnerOptions {
  store: TaskStore;
  bus: EventBus;
  clock: Clock;
  owner: string;
  config(): YggConfig;
  transport(host: HostConfig): Transport;
  estimator: RuntimeEstimator;
  totals: LoopTotals;
  log: HandlerLogger;
  random: () => number;
  /** Slot indices other loops hold on a host (for a slot taken back after a tool call). */
  heldElsewhere(host: string): readonly number[];
  extendContext?: (ctx: HandlerContext, info: AttemptInfo) => void;
  /** True once running work must not start (a forced stop): a claim that lands is handed back. */
  aborting(): boolean;
  /** Ask the loop for a pass (a slot freed). */
  kick(): void;
}

export class Runner {
  readonly running = new Map<string, RunningAttempt>();
  /** Claims being written: their type and host (they hold a slot). */
  readonly claiming = new Map<string, { type: string; host: string }>();
  /** Attempts that ended and whose outcome is being written. */
  readonly finishing = new Set<string>();
  readonly #versions = new OurVersions();
  readonly #settled = new Set<Promise<void>>();
  readonly #writer: SettleWriter;
  readonly #options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.#options = options;
    this.#writer = new SettleWriter({ ...options, write: (change) => this.write(change) });
  }

  /** Tasks this loop holds now: being claimed, running, or having their outcome written. */
  inFlightIds(): string[] {
    return [...new Set([...this.claiming.keys(), ...this.running.keys(), ...this.finishing])];
  }

  isInFlight(id: string): boolean {
    return this.claiming.has(id) || this.running.has(id) || this.finishing.has(id);
  }

  get busy(): number {
    return this.running.size + this.claiming.size + this.finishing.size;
  }

  /** Writes a lifecycle change; our version of the task is remembered to undo a foreign revert. */
  async write(change: TaskChange): Promise<Task | undefined> {
    const written = await applyChange(this.#options.store, change);
    if (written) this.#versions.remember(written, this.#options.clock.now());
    return written;
  }

  /** Resolves once every attempt launched so far has settled (its outcome written). */
  async allSettled(): Promise<void> {
    while (this.#settled.size > 0) await Promise.allSettled([...this.#settled]);
  }

  launch(launch: Launch): void {
    this.claiming.set(launch.task.id, { type: launch.type, host: launch.slot.host });
    const done = this.#run(launch).finally(() => this.#settled.delete(done));
    this.#settled.add(done);
  }

  stop(id: string, reason: Parameters<AttemptControl['stop']>[0], by: string): boolean {
    const run = this.running.get(id);
    if (!run) return false;
    run.control.stop(reason, by);
    return true;
  }

  stopAll(reason: Parameters<AttemptControl['stop']>[0], by: string, host?: string): void {
    for (const run of this.running.values()) if (!host || run.host === host) run.control.stop(reason, by);
  }

  /**
   * These tasks changed. One of ours (changed by another writer) that now shows an older state than we wrote
   * was reverted by a foreign rename: our version goes back. A running one that someone else
   * changed (cancelled, closed, taken over) is stopped.
   */
  async onChange(ids: readonly string[], external: boolean): Promise<void> {
    for (const id of ids) {
      const ours = external ? this.#versions.get(id) : undefined;
      const run = this.running.get(id);
      // Only tasks of ours are looked at: reading every changed line would parse each one.
      if (!ours && !run) continue;
      const current = this.#options.store.get(id);
      if (ours && current && isRevertOf(current, ours)) {
        await this.write({ op: 'reassert', id, ours }).catch(() => undefined);
        continue;
      }
      if (run && (!current || !holds(current, run.token))) this.#stopChanged(run, current);
    }
  }

  async #run(launch: Launch): Promise<void> {
    const { task, type, slot, hostSlots } = launch;
    const { store, bus, clock } = this.#options;
    const config = this.#options.config();
    const typeConfig = typeConfigFor(config, type);
    const now = clock.now();
    let claimed: Task | undefined;
    try {
      const cap = typeConfig.maxConcurrent;
      claimed = await this.write({
        op: 'claim',
        id: task.id,
        owner: this.#options.owner,
        host: slot.host,
        slot: slot.index,
        type,
        hostSlots: launch.usable,
        ...(launch.usable >= hostSlots.host.slots ? { allHostSlots: true } : {}),
        ...(cap === undefined ? {} : { typeCap: cap }),
        // Across loops on a store shared by machines: the store's check counts every loop's starts.
        ...(config.queue.rateLimit && startsShared(store) ? { rateLimit: config.queue.rateLimit } : {}),
        leaseMs: config.queue.leaseMs,
        now,
      });
    } catch (error) {
      this.#options.log.error({ task_id: task.id, err: String(error) }, 'claim failed');
    } finally {
      this.claiming.delete(task.id);
    }
    if (!claimed || this.#options.aborting()) {
      hostSlots.release(slot);
      if (claimed) await this.#handBack(claimed);
      this.#options.kick();
      return;
    }
    const host = config.hosts.find((h) => h.name === slot.host)!;
    const meta = yggOf(claimed);
    const token = meta.lease!.token;
    const attempt = meta.attempt ?? 1;
    if (hasBoost(claimed, config.queue.boostLabel))
      void this.write({ op: 'boost', id: task.id, token, now }).catch(() => undefined);
    const claimedAt = clock.now();
    this.#options.totals.firstStart ??= claimedAt;
    bus.emit('task:claimed', {
      taskId: task.id,
      type,
      host: host.name,
      attempt,
      waitMs: claimedAt - launch.readyAt,
    });

    // Rare (a takeover from a dead loop), and awaited only then: the task counts as claiming meanwhile.
    const earlier = { ...this.#options, task: claimed, token, launch, claiming: this.claiming };
    const write = (change: TaskChange) => this.write(change);
    if (yggOf(claimed).unended?.length && !(await endEarlierAttempts({ ...earlier, write }))) return;
    const settings = attemptSettings(claimed, typeConfig, launch.plugin, config.defaults);
    let run: RunningAttempt | undefined;
    let slotHeld = true;
    const lending = slotLending({
      run: () => run,
      hostSlots,
      held: () => slotHeld,
      setHeld: (held) => {
        slotHeld = held;
      },
      clock,
      write: (change) => this.write(change),
      heldElsewhere: this.#options.heldElsewhere,
      changed: () => {
        this.#slotsChanged(hostSlots);
        this.#options.kick();
      },
    });
    const { control, done } = startAttempt({
      task: claimed,
      type,
      plugin: launch.plugin,
      host,
      transport: this.#options.transport(host),
      attempt,
      gpus: slot.gpus,
      slotIndex: slot.index,
      marker: attemptMarker(task.id, token),
      artifactsDir: join(store.runtimeDir, 'artifacts', task.id, String(attempt)),
      clock,
      ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
      ...(settings.hardTimeoutMs === undefined ? {} : { hardTimeoutMs: settings.hardTimeoutMs }),
      log: this.#options.log,
      onProgress: (text, fraction) => {
        if (run) {
          run.progress = text;
          if (fraction !== undefined) run.fraction = fraction;
        }
        bus.emit('task:progress', {
          taskId: task.id,
          host: host.name,
          attempt,
          text,
          ...(fraction === undefined ? {} : { fraction }),
        });
      },
      onHeartbeat: () => void keeper.renewNow(),
      extend: (ctx, ctl) =>
        this.#options.extendContext?.(ctx, {
          task: claimed!,
          slot: run?.slot ?? slot,
          control: ctl,
          lending,
        }),
    });
    const keeper = new LeaseKeeper({
      clock,
      leaseMs: config.queue.leaseMs,
      since: now,
      renew: (at) => this.#renew(task.id, token, config.queue.leaseMs, at),
      onLost: (why) => {
        if (why === 'expiring') control.stop('lease-lost', 'its lease could not be renewed in time');
        else if (run) this.#stopChanged(run, store.get(task.id));
      },
      onError: (error) =>
        this.#options.log.warn(
          { task_id: task.id, err: String(error) },
          'lease renewal failed; will try again',
        ),
    });
    run = {
      task: claimed,
      type,
      host: host.name,
      slot,
      token,
      attempt,
      plugin: launch.plugin,
      control,
      startedAt: claimedAt,
    };
    this.running.set(task.id, run);
    this.#slotsChanged(hostSlots);
    bus.emit('task:started', {
      taskId: task.id,
      type,
      host: host.name,
      attempt,
      handler: launch.plugin.name,
    });

    const freeSlot = () => {
      if (!this.running.has(task.id)) return;
      const totals = this.#options.totals;
      totals.busyMs.set(host.name, (totals.busyMs.get(host.name) ?? 0) + (clock.now() - claimedAt));
      this.running.delete(task.id);
      // Into the semaphore the slot came from, even if the config was reloaded meanwhile.
      if (slotHeld) hostSlots.release(run!.slot);
      slotHeld = false;
      this.#slotsChanged(hostSlots);
      this.#options.kick();
    };
    try {
      const outcome: AttemptOutcome = await done;
      keeper.stop();
      if (outcome.kind === 'succeeded') this.#options.estimator.observe(type, host.name, outcome.runMs);
      // The host's work is over: its slot goes to the next task while the outcome is written.
      this.finishing.add(task.id);
      freeSlot();
      const settlement = settle({
        run: { id: task.id, host: host.name, attempt, token },
        outcome,
        task: store.get(task.id) ?? claimed,
        allowedAttempts: settings.attempts,
        backoff: typeConfig.backoff,
        random: this.#options.random,
      });
      await this.#writer.write({
        run: { id: task.id, host: host.name, attempt, token, type },
        outcome,
        settlement,
      });
    } catch (error) {
      this.#options.log.error({ task_id: task.id, err: String(error) }, 'writing the outcome failed');
    } finally {
      keeper.stop();
      freeSlot();
      this.finishing.delete(task.id);
      this.#options.totals.lastEnd = clock.now();
      this.#options.kick();
    }
  }

  async #renew(id: string, token: number, leaseMs: number, now: number): Promise<'renewed' | 'declined'> {
    if (await this.write({ op: 'renew', id, token, leaseMs, now })) return 'renewed';
    // A foreign rename may have undone our claim or last renewal: put ours back and renew again.
    const ours = this.#versions.get(id);
    const current = this.#options.store.get(id);
    if (ours && current && isRevertOf(current, ours) && (await this.write({ op: 'reassert', id, ours })))
      return (await this.write({ op: 'renew', id, token, leaseMs, now })) ? 'renewed' : 'declined';
    return 'declined';
  }

  #stopChanged(run: RunningAttempt, task: Task | undefined): void {
    const theirs = task && statusOf(task) === 'in_progress' && yggOf(task).lease?.token !== run.token;
    run.control.stop(theirs ? 'lease-lost' : 'cancelled', describeCanceller(task));
  }

  /** A claim that landed after running work was aborted: give the task straight back. */
  async #handBack(task: Task): Promise<void> {
    const token = yggOf(task).lease?.token ?? 0;
    await this.write({
      op: 'release',
      id: task.id,
      ending: {
        token,
        now: this.#options.clock.now(),
        outcome: 'cancelled',
        error: 'ygg stopped before it ran',
      },
    }).catch(() => undefined);
  }

  #slotsChanged(slots: HostSlots): void {
    this.#options.bus.emit('slots:changed', {
      host: slots.host.name,
      used: slots.used,
      total: slots.total,
      effective: slots.effective,
    });
  }
}

export function describeCanceller(task: Task | undefined): string {
  if (!task) return 'the task was removed from the store';
  const cancelled = yggOf(task).cancelled;
  if (cancelled?.by) return cancelled.by;
  if (statusOf(task) === 'closed')
    return task.close_reason === 'cancelled' ? 'ygg cancel' : 'someone closed it';
  if (statusOf(task) === 'open') return 'someone reopened it';
  return `someone set it ${statusOf(task)}`;
}
