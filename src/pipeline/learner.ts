/**
 * The learner, pinned to `learner.host`: it is given that host's transport and nothing else, so
 * it cannot run anywhere else. States:
 *
 *   idle ──start──▶ waiting-batch ◀──────────────┐
 *                    │ batch_size fresh          │ published (or failed: retry after a delay)
 *                    ▼                           │
 *                  training ─────────────────────┘
 *   any ──host:down──▶ waiting-host ──host:up──▶ waiting-batch;   any ──stop──▶ stopped
 *
 * A training step puts the batch (and the current checkpoint and the command's files) in a work
 * directory on the host, runs the command there sandboxed (GPU allowed, network not), fetches
 * the checkpoint it wrote and publishes it as the next policy version.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { LearnerSettings } from '../config/types.js';
import { YggError } from '../errors.js';
import type { Transport } from '../hosts/transport.js';
import type { EventBus, LearnerState } from '../observe/events.js';
import type { PolicyStore, PolicyVersion } from './policy.js';
import type { ReplayBuffer } from './replay.js';
import { StaleCounter } from './staleness.js';
import { fillTemplate } from './tool-template.js';
import { type Trajectory, tail } from './trajectory.js';

export interface LearnerOptions {
  settings: LearnerSettings;
  /** The transport of `settings.host`; any other host's is refused. */
  transport: Transport;
  /** Parent of the learner's work directories on its host. */
  workRoot: string;
  replay: ReplayBuffer;
  policy: PolicyStore;
  /** Local folder for batch files and fetched checkpoints (the store's runtime dir). */
  runtimeDir: string;
  events?: EventBus;
  staleCounter?: StaleCounter;
  /** Whether the host is up at start (default true); `host:down`/`host:up` events change it. */
  hostUp?: boolean;
  /**
   * Versions of rollouts admitted and still running (the staleness gate's). A batch that would
   * skip over older ones still running, which the next version would make stale, waits for them.
   */
  inflightVersions?: () => number[];
  /** The longest such a wait lasts (default 60 s). */
  maxStaleWaitMs?: number;
  /** Wait after a failed training run before trying again (default 5 s). */
  retryDelayMs?: number;
  now?: () => number;
}

export class Learner {
  readonly host: string;
  readonly #o: LearnerOptions;
  readonly #now: () => number;
  readonly #stale: StaleCounter;
  readonly #unsubscribe: Array<() => void> = [];
  #state: LearnerState = 'idle';
  #detail: string | undefined;
  #hostUp: boolean;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #woken = false;
  #runs = 0;
  #heldSince: number | undefined;

  constructor(options: LearnerOptions) {
    if (options.transport.hostName !== options.settings.host)
      throw new YggError(
        `the learner is pinned to ${options.settings.host} and cannot run on ${options.transport.hostName}`,
        { hint: 'pass the transport of learner.host' },
      );
    this.#o = options;
    this.host = options.settings.host;
    this.#now = options.now ?? Date.now;
    this.#stale = options.staleCounter ?? new StaleCounter(options.events);
    this.#hostUp = options.hostUp ?? true;
    if (options.events) {
      this.#unsubscribe.push(
        options.events.on('host:down', ({ host, error }) => {
          if (host !== this.host) return;
          this.#hostUp = false;
          if (this.#state !== 'training') this.#setState('waiting-host', error);
          this.notify();
        }),
        options.events.on('host:up', ({ host }) => {
          if (host !== this.host) return;
          this.#hostUp = true;
          this.notify();
        }),
      );
    }
  }

  get state(): LearnerState {
    return this.#state;
  }

  /** Why it is in its state (the host's error while waiting for it, the last failure). */
  get detail(): string | undefined {
    return this.#detail;
  }

  /** Training commands run so far (successful or not). */
  get runs(): number {
    return this.#runs;
  }

  start(): void {
    if (this.#loop || this.#stopping) return;
    this.#loop = this.#run();
  }

  /** A trajectory was added to the replay buffer, or the host changed: look again. */
  notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    if (wake) wake();
    else this.#woken = true; // remembered: the loop looks again before it sleeps
  }

  /** Stop after the current training run, if any. Safe to call twice. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.notify();
    await this.#loop;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#setState('stopped');
  }

  async #run(): Promise<void> {
    const s = this.#o.settings;
    while (!this.#stopping) {
      if (!this.#hostUp) {
        this.#setState('waiting-host', this.#detail);
        await this.#sleep();
        continue;
      }
      const current = this.#o.policy.version();
      const drawn = this.#o.replay.drawBatch({
        batchSize: s.batchSize,
        currentVersion: current,
        maxStaleness: s.maxStaleness,
      });
      if (drawn.stale.length > 0) {
        await this.#o.replay.markStale(drawn.stale.map((t) => t.id));
        this.#stale.add(drawn.stale.length, current);
      }
      if (!drawn.batch) {
        this.#setState('waiting-batch', `${this.#o.replay.fresh().length}/${s.batchSize} fresh trajectories`);
        await this.#sleep();
        continue;
      }
      const holdMs = this.#holdForOlder(drawn.batch, current);
      if (holdMs > 0) {
        this.#setState('waiting-batch', 'waiting for older rollouts still running');
        await this.#sleep(holdMs);
        continue;
      }
      this.#heldSince = undefined;
      this.#setState('training', `batch of ${drawn.batch.length} at v${current}`);
      try {
        await this.#train(drawn.batch, drawn.stale.length);
        this.#detail = undefined;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.#setState(this.#hostUp ? 'waiting-batch' : 'waiting-host', `training failed: ${message}`);
        await this.#sleep(this.#o.retryDelayMs ?? 5000);
      }
    }
  }

  async #train(batch: Trajectory[], staleDropped: number): Promise<PolicyVersion> {
    this.#runs += 1;
    const o = this.#o;
    const t = o.transport;
    const current = o.policy.current();
    const next = (current?.version ?? 0) + 1;
    const localDir = join(o.runtimeDir, 'learner');
    await mkdir(localDir, { recursive: true });
    const batchFile = join(localDir, `batch-v${next}.jsonl`);
    await writeFile(batchFile, batch.map((x) => `${JSON.stringify(x)}\n`).join(''));

    const workdir = `${o.workRoot.replace(/\/+$/, '')}/learner-v${next}-${process.pid}-${this.#runs}`;
    await t.exec(['mkdir', '-p', '--', workdir]);
    try {
      const values: Record<string, string> = {
        workdir,
        version: String(next),
        batch: `${workdir}/batch.jsonl`,
        checkpoint: `${workdir}/next.onnx`,
      };
      await t.put(batchFile, values.batch!);
      // Before any policy exists (no initial_policy), `{policy}` is empty: the command starts fresh.
      values.policy = '';
      if (current) {
        values.policy = `${workdir}/policy.onnx`;
        await t.put(current.checkpoint, values.policy);
      }
      for (const [key, localPath] of Object.entries(o.settings.files)) {
        values[key] = `${workdir}/${basename(localPath)}`;
        await t.put(localPath, values[key]);
      }
      const argv = fillTemplate(o.settings.command, values, 'learner command');
      const started = this.#now();
      const result = await t.exec(argv, {
        cwd: workdir,
        ...(o.settings.timeoutMs === undefined ? {} : { timeoutMs: o.settings.timeoutMs }),
        sandbox: { workdir, network: false, gpu: true },
      });
      const trainMs = this.#now() - started;
      if (result.code !== 0)
        throw new Error(
          `learner command ended with ${result.limit ? `the ${result.limit} limit` : `exit ${result.code ?? result.signal}`}: ${tail(result.stderr || result.stdout, 500)}`,
        );
      const fetched = join(localDir, `checkpoint-v${next}.onnx`);
      await t.get(values.checkpoint!, fetched);
      const rewards = batch.map((x) => x.reward ?? 0);
      const published = await o.policy.publish({
        checkpointFile: fetched,
        batchSize: batch.length,
        meanReward: rewards.reduce((a, b) => a + b, 0) / rewards.length,
        staleDropped,
        trainMs,
        host: this.host,
      });
      await o.replay.markTrained(
        batch.map((x) => x.id),
        published.version,
      );
      o.events?.emit('policy:published', {
        version: published.version,
        batchSize: published.batchSize,
        meanReward: published.meanReward ?? 0,
      });
      return published;
    } finally {
      await t.exec(['rm', '-rf', '--', workdir]).catch(() => undefined);
    }
  }

  /**
   * How long to wait before training on `batch`: rollouts of versions the next policy would make
   * stale are still running while the batch takes newer trajectories ahead of them. 0: train now.
   */
  #holdForOlder(batch: Trajectory[], current: number): number {
    const running = this.#o.inflightVersions?.() ?? [];
    const atRisk = running.filter((v) => current + 1 - v > this.#o.settings.maxStaleness);
    if (atRisk.length === 0) return 0;
    const oldest = Math.min(...atRisk);
    if (!batch.some((t) => t.policyVersion > oldest)) return 0;
    const limit = this.#o.maxStaleWaitMs ?? 60_000;
    this.#heldSince ??= this.#now();
    return Math.max(0, this.#heldSince + limit - this.#now());
  }

  #setState(state: LearnerState, detail?: string): void {
    const changed = state !== this.#state || detail !== this.#detail;
    this.#state = state;
    this.#detail = detail;
    if (changed)
      this.#o.events?.emit('learner:state', { host: this.host, state, ...(detail ? { detail } : {}) });
  }

  /** Wait for notify() (or the delay); stop() wakes it too. */
  #sleep(delayMs?: number): Promise<void> {
    if (this.#stopping || this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = delayMs === undefined ? undefined : setTimeout(() => this.notify(), delayMs);
      this.#wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }
}
