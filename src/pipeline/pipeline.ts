/**
 * The agent pipeline assembled from the configuration: tool queue, policy versions, trajectory
 * log, reward plugins, replay buffer, staleness gate and the pinned learner. The dispatcher's
 * runner asks it to admit a rollout, gives the handler `rollout.extensions()` plus `ctx.tool`
 * (see tool-function.ts), and calls `rollout.finish()` when the handler ends.
 */
import { randomBytes } from 'node:crypto';
import type { YggConfig } from '../config/types.js';
import type { Transport } from '../hosts/transport.js';
import type { EventBus } from '../observe/events.js';
import type { SharedState } from '../store/store.js';
import { plural } from '../text/plural.js';
import { Learner } from './learner.js';
import { runOnnx } from './onnx-session.js';
import { PolicyStore } from './policy.js';
import { ReplayBuffer } from './replay.js';
import { type RewardPlugin, scoreTrajectory, type WeightedReward } from './rewards/api.js';
import { rewardsFromSettings } from './rewards/from-config.js';
import type { OnnxFunction, PolicyHandle } from './rollout-types.js';
import { type AdmissionTicket, StaleCounter, StalenessGate } from './staleness.js';
import { ToolQueue } from './tool-queue.js';
import { summarizeTrajectory, type Trajectory, TrajectoryRecorder } from './trajectory.js';
import { TrajectoryLog } from './trajectory-log.js';

export type { OnnxFunction, OnnxInputs, OnnxOutputs, PolicyHandle } from './rollout-types.js';

/** What a rollout handler's ctx gains (spread into the HandlerContext). */
export interface RolloutExtensions {
  policy: PolicyHandle;
  onnx: OnnxFunction;
  /** Record steps: `ctx.trajectory.step(state, action, toolSummary)`; `fail(error)` marks it failed. */
  trajectory: TrajectoryRecorder;
}

export interface PipelineOptions {
  config: YggConfig;
  /** The store's runtime dir (`.ygg/`). */
  runtimeDir: string;
  /** A store shared by machines: the policy versions are its (every machine's learner and rollouts agree). */
  sharedState?: SharedState | undefined;
  /** The transport of a named host (the host pool's). */
  transportFor: (host: string) => Transport;
  events?: EventBus;
  /** Default: those `learner.rewards` names, else `tests_passed`. */
  rewards?: Array<RewardPlugin | WeightedReward>;
  /** Loaded handler plugins by name: an `onnx` reward's features may come from one. */
  plugins?: ReadonlyMap<string, object>;
  now?: () => number;
}

export class AgentPipeline {
  readonly policy: PolicyStore;
  readonly replay: ReplayBuffer;
  readonly log: TrajectoryLog;
  readonly stale: StaleCounter;
  readonly toolQueue: ToolQueue | undefined;
  readonly gate: StalenessGate | undefined;
  readonly learner: Learner | undefined;
  readonly rewards: Array<RewardPlugin | WeightedReward>;
  readonly #events: EventBus | undefined;
  readonly #now: () => number;
  readonly #unsubscribe: Array<() => void> = [];

  private constructor(
    parts: Pick<
      AgentPipeline,
      'policy' | 'replay' | 'log' | 'stale' | 'toolQueue' | 'gate' | 'learner' | 'rewards'
    >,
    events: EventBus | undefined,
    now: () => number,
  ) {
    this.policy = parts.policy;
    this.replay = parts.replay;
    this.log = parts.log;
    this.stale = parts.stale;
    this.toolQueue = parts.toolQueue;
    this.gate = parts.gate;
    this.learner = parts.learner;
    this.rewards = parts.rewards;
    this.#events = events;
    this.#now = now;
    const gate = parts.gate;
    // A new policy version makes room at the gate.
    if (events && gate) this.#unsubscribe.push(events.on('policy:published', () => gate.changed()));
  }

  static async open(options: PipelineOptions): Promise<AgentPipeline> {
    const { config, runtimeDir, events } = options;
    const now = options.now ?? Date.now;
    // First: a reward that cannot load (model, features) stops the start before anything runs.
    const rewards =
      options.rewards ??
      (await rewardsFromSettings(config.learner?.rewards, {
        ...(options.plugins ? { plugins: options.plugins } : {}),
      }));
    const policy = await PolicyStore.open(runtimeDir, {
      now: () => new Date(now()),
      shared: options.sharedState,
    });
    const learnerSettings = config.learner;
    if (learnerSettings?.initialPolicy) await policy.ensureInitial(learnerSettings.initialPolicy);
    const replay = await ReplayBuffer.inRuntimeDir(runtimeDir, {
      capacity: learnerSettings?.replayCapacity ?? 1000,
    });
    const stale = new StaleCounter(events);
    const toolHosts = config.hosts
      .filter((h) => h.roles.includes('tools'))
      .map((h) => ({
        name: h.name,
        slots: h.slots,
        transport: options.transportFor(h.name),
        workRoot: h.sandbox.workRoot,
      }));
    const toolQueue =
      toolHosts.length > 0
        ? new ToolQueue({
            tools: config.tools ?? {},
            hosts: toolHosts,
            ...(config.toolQueue ?? {}),
            ...(events ? { events } : {}),
            now,
          })
        : undefined;
    let gate: StalenessGate | undefined;
    let learner: Learner | undefined;
    if (learnerSettings) {
      // After a restart: what earlier versions trained on (or dropped) plus what waits to be.
      const accepted =
        policy.list().reduce((n, v) => n + v.batchSize + v.staleDropped, 0) + replay.fresh().length;
      gate = new StalenessGate({ settings: learnerSettings, version: () => policy.version(), accepted, now });
      const host = config.hosts.find((h) => h.name === learnerSettings.host);
      if (host)
        learner = new Learner({
          settings: learnerSettings,
          transport: options.transportFor(host.name),
          workRoot: host.sandbox.workRoot,
          replay,
          policy,
          runtimeDir,
          staleCounter: stale,
          inflightVersions: () => gate?.runningVersions() ?? [],
          ...(events ? { events } : {}),
          now,
        });
    }
    return new AgentPipeline(
      {
        policy,
        replay,
        log: TrajectoryLog.inRuntimeDir(runtimeDir),
        stale,
        toolQueue,
        gate,
        learner,
        rewards,
      },
      events,
      now,
    );
  }

  start(): void {
    this.learner?.start();
  }

  async stop(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    await this.learner?.stop();
    this.toolQueue?.close();
    await this.log.flush();
  }

  /**
   * Ask before claiming a `rollout` task: a ticket when it may start now (hold it until
   * `finish`), `undefined` when staleness or `max_inflight` says wait. Without a learner, always.
   */
  admitRollout(): AdmissionTicket | undefined {
    if (this.gate) return this.gate.tryAdmit();
    return { id: 0, policyVersion: this.policy.version(), admittedAt: this.#now() };
  }

  /**
   * A ticket once the gate has room (at once when it has room now), `onWait` called first with
   * why it waits. Rejects with the signal's reason when it aborts first.
   */
  async waitForAdmission(
    options: { signal?: AbortSignal; onWait?: (reason: string) => void } = {},
  ): Promise<AdmissionTicket> {
    const { signal } = options;
    let told = false;
    for (;;) {
      signal?.throwIfAborted();
      const ticket = this.admitRollout();
      if (ticket) return ticket;
      if (!told) {
        told = true;
        options.onWait?.(this.gateReason());
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          off?.();
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const off = this.gate?.onChange(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Why the staleness gate holds rollouts now. */
  gateReason(): string {
    if (!this.gate) return 'no staleness gate';
    const { version, running, accepted } = this.gate.counts();
    return `staleness gate: policy v${version}, ${plural(running, 'rollout')} running, ${accepted} accepted; waiting for the learner`;
  }

  /** Give back a ticket whose rollout never started (the claim failed). */
  releaseTicket(ticket: AdmissionTicket): void {
    this.gate?.finish(ticket, false);
  }

  beginRollout(request: {
    taskId: string;
    attempt?: number;
    host?: string;
    ticket: AdmissionTicket;
    group?: string;
  }): Rollout {
    return new Rollout(this, request, this.#now, this.#events);
  }
}

/** One rollout's life: the handler records into `extensions().trajectory`; `finish` scores and stores it. */
export class Rollout {
  readonly recorder: TrajectoryRecorder;
  readonly ticket: AdmissionTicket;
  readonly #pipeline: AgentPipeline;
  readonly #events: EventBus | undefined;
  #finished: Promise<{ trajectory: Trajectory; summary: string }> | undefined;

  constructor(
    pipeline: AgentPipeline,
    request: { taskId: string; attempt?: number; host?: string; ticket: AdmissionTicket; group?: string },
    now: () => number,
    events: EventBus | undefined,
  ) {
    this.#pipeline = pipeline;
    this.#events = events;
    this.ticket = request.ticket;
    this.recorder = new TrajectoryRecorder({
      id: `${request.taskId}.${request.attempt ?? 1}.${randomBytes(3).toString('hex')}`,
      taskId: request.taskId,
      policyVersion: request.ticket.policyVersion,
      ...(request.group ? { group: request.group } : {}),
      ...(request.host ? { host: request.host } : {}),
      admittedAt: new Date(request.ticket.admittedAt),
      now,
    });
  }

  extensions(): RolloutExtensions {
    const version = this.ticket.policyVersion;
    const record = this.#pipeline.policy.list().find((v) => v.version === version);
    const checkpoint = record?.checkpoint;
    return {
      policy: {
        version,
        checkpoint,
        run: (inputs) => {
          if (!checkpoint) return Promise.reject(new Error(`policy v${version} has no checkpoint`));
          return runOnnx(checkpoint, inputs);
        },
      },
      onnx: runOnnx,
      trajectory: this.recorder,
    };
  }

  /**
   * The handler ended (with `error` when it threw): score the trajectory, log it with its reward,
   * keep it in the replay buffer and wake the learner. Resolves with a summary for the result
   * comment. Safe to call twice (the second call returns the first's outcome).
   */
  finish(outcome: { error?: string } = {}): Promise<{ trajectory: Trajectory; summary: string }> {
    this.#finished ??= this.#finish(outcome);
    return this.#finished;
  }

  async #finish(outcome: { error?: string }): Promise<{ trajectory: Trajectory; summary: string }> {
    const p = this.#pipeline;
    let accepted = false;
    try {
      if (outcome.error !== undefined && !this.recorder.failed) this.recorder.fail(outcome.error);
      let trajectory = this.recorder.finish();
      await p.log.append(trajectory);
      if (trajectory.status === 'ok') {
        const scored = await scoreTrajectory(trajectory, p.rewards);
        trajectory = { ...trajectory, ...scored };
        await p.log.setReward(trajectory.id, scored.reward, scored.rewards);
        await p.replay.add(trajectory);
        accepted = true;
        p.learner?.notify();
      }
      this.#events?.emit('trajectory:recorded', {
        id: trajectory.id,
        taskId: trajectory.taskId,
        policyVersion: trajectory.policyVersion,
        ok: trajectory.status === 'ok',
        ...(trajectory.reward === undefined ? {} : { reward: trajectory.reward }),
      });
      return { trajectory, summary: summarizeTrajectory(trajectory) };
    } finally {
      p.gate?.finish(this.ticket, accepted);
    }
  }
}
