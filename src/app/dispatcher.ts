/**
 * The composition root of `ygg loop`: the store, hosts.yaml and plugins (runtime), the hosts'
 * health and GPU samples, the agent pipeline, the queue policy, the loop, durable counters and
 * the observers, built in that order and disposed in reverse. The CLI only parses flags, wires
 * signals and prints; benches and examples run the same dispatcher.
 */
import { watch } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { formatProblem } from '../config/problems.js';
import type { YggConfig } from '../config/types.js';
import { type IdleEnd, Loop } from '../dispatch/loop.js';
import { loopOwner } from '../dispatch/owner.js';
import { QueuePolicy } from '../dispatch/queue-policy.js';
import { type LeftTask, leftTasks } from '../dispatch/waiting.js';
import type { FoundModelServer } from '../hosts/model/discover.js';
import { withLocalModel } from '../hosts/model/local-models.js';
import { feedCounters } from '../observe/counter-feed.js';
import { EventBus } from '../observe/events.js';
import { countersFor } from '../observe/store-counters.js';
import { DatabaseHosts } from './database-hosts.js';
import { ForwardingLogger } from './forwarding-logger.js';
import { LoopHosts } from './hosts.js';
import { findLocalModel } from './local-models.js';
import { type LoopObservers, type ObserveFlags, observeLoop } from './observers.js';
import { openLoopPipeline } from './pipeline.js';
import { type CommonOptions, openRuntime } from './runtime.js';
import { clockFor, withStoreDefaults } from './store-defaults.js';
import { storeProblemReporter } from './store-problems.js';

export interface DispatcherOptions extends CommonOptions, ObserveFlags {
  legacy?: boolean;
  /** At most this many tasks at once in this loop, across all hosts (`--concurrency`). */
  concurrency?: number;
  /** Show a progress bar and stop once nothing is left (`--until-idle`). */
  untilIdle?: boolean;
  /** With `untilIdle`: how long ready tasks may wait on hosts that are all down or drained before it gives up. */
  hostsDownMs?: number;
  /** Safety-net poll of the store; stands over hosts.yaml, also after a reload. */
  intervalMs?: number;
  bus?: EventBus;
  /** Where warnings go: store and plugin problems, an invalid hosts.yaml (stderr in the CLI). */
  warn?: (text: string) => void;
  /** Reload hosts.yaml when the file changes (the CLI's loop does; SIGHUP calls `reload`). */
  watchConfig?: boolean;
}

/** How `--until-idle` ended: `end` says why it stopped, `left` the open tasks and why each waits. */
export interface IdleReport {
  end: IdleEnd;
  left: LeftTask[];
}

/** `--until-idle` waits this long for down hosts to come back before it gives up. */
export const defaultHostsDownMs = 120_000;

export class Dispatcher implements AsyncDisposable {
  /** Cleanups in the order things were built; run in reverse. */
  readonly #stack = new CleanupStack();
  readonly #options: DispatcherOptions;
  #loop: Loop | undefined;
  #configPath = '';
  /** The store's defaults (the lease) apply to every hosts.yaml read, also after a reload. */
  #storeDefaults: (config: YggConfig) => YggConfig = (config) => config;
  /** A store shared by machines: its hosts' slots, followed over this hosts.yaml's. */
  #dbHosts: DatabaseHosts | undefined;
  /** hosts.yaml as last loaded (before flags and the store's slots). */
  #file: YggConfig | undefined;
  #hosts: LoopHosts | undefined;
  #observed: LoopObservers | undefined;
  /** The model server found on this machine, given to local hosts that name none (also after a reload). */
  #localModel: FoundModelServer | undefined;

  private constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  /** Builds everything; the loop starts with `run`. */
  static async open(options: DispatcherOptions): Promise<Dispatcher> {
    const dispatcher = new Dispatcher(options);
    try {
      await dispatcher.#build();
    } catch (error) {
      await dispatcher[Symbol.asyncDispose]();
      throw error;
    }
    return dispatcher;
  }

  get loop(): Loop {
    if (!this.#loop) throw new Error('the dispatcher is not open');
    return this.#loop;
  }

  get observers(): LoopObservers | undefined {
    return this.#observed;
  }

  /**
   * Starts the loop once the hosts were probed; resolves when it stopped: on `stop`, or with
   * `untilIdle` once nothing is ready, running or waiting for a retry.
   */
  async run(): Promise<IdleReport | undefined> {
    const loop = this.loop;
    await this.#hosts?.ready();
    await loop.start();
    let report: IdleReport | undefined;
    if (this.#options.untilIdle) {
      const end = await loop.untilIdle(this.#options.hostsDownMs ?? defaultHostsDownMs);
      // What is left, and why, as the loop saw it when it stopped looking.
      report = { end, left: leftTasks(loop.store, loop.holdups, loop.now()) };
      if (loop.state === 'running') await loop.stop();
    }
    await stopped(loop);
    return report;
  }

  /** Re-reads hosts.yaml: a valid file applies; an invalid or unreadable one is said and ignored. */
  async reload(): Promise<void> {
    const warn = this.#warn;
    try {
      const result = await loadConfig(this.#configPath);
      if (result.config) {
        this.#file = result.config;
        // The store away: its hosts as last read still hold.
        await this.#dbHosts?.sync(result.config).catch(() => undefined);
        this.#apply(result.config);
        return;
      }
      const errors = result.errors.map((e) => formatProblem(e));
      this.loop.bus.emit('config:invalid', { path: this.#configPath, errors });
      warn(`ygg: ${this.#configPath} is invalid; keeping the running config:\n${errors.join('\n')}\n`);
    } catch (error) {
      // A reload never takes the loop down, whatever the file holds.
      this.#loop?.bus.emit('config:invalid', { path: this.#configPath, errors: [String(error)] });
      warn(`ygg: ${this.#configPath} could not be applied; keeping the running config:\n${String(error)}\n`);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#loop && this.#loop.state !== 'stopped') await this.#loop.stop({ force: true });
    await this.#stack.dispose();
  }

  get #warn(): (text: string) => void {
    return this.#options.warn ?? ((text) => process.stderr.write(text));
  }

  #apply(file: YggConfig): void {
    const config = this.#withFlags(file);
    this.#hosts?.reconfigure(config);
    this.loop.reconfigure(config);
  }

  #withFlags(file: YggConfig): YggConfig {
    const { intervalMs } = this.#options;
    const stored = this.#dbHosts?.apply(file) ?? file;
    const config = withLocalModel(this.#storeDefaults(stored), this.#localModel);
    return intervalMs === undefined
      ? config
      : { ...config, queue: { ...config.queue, pollIntervalMs: intervalMs } };
  }

  async #build(): Promise<void> {
    const options = this.#options;
    const bus = options.bus ?? new EventBus();
    const stack = this.#stack;
    const runtime = stack.use(await openRuntime(options));
    this.#configPath = runtime.configPath;
    this.#storeDefaults = (config) => withStoreDefaults(config, runtime.store);
    this.#file = runtime.config;
    const owner = loopOwner();
    const catalog = runtime.store.hostCatalog;
    if (catalog) {
      const hint = `to make this hosts.yaml the database's: ygg hosts sync --store '${runtime.store.path}' --config ${runtime.configPath}`;
      this.#dbHosts = new DatabaseHosts(catalog, owner, this.#warn, hint);
      await this.#dbHosts.sync(runtime.config);
    }
    this.#localModel = await findLocalModel(runtime.config, runtime.store.runtimeDir, (line) =>
      this.#warn(`ygg: ${line}\n`),
    );
    const config = this.#withFlags(runtime.config);
    // Tool queue, rollouts and the learner, when hosts.yaml has tools or a learner.
    const pipeline = stack.use(await openLoopPipeline(runtime, config, bus));
    const queuePolicy = new QueuePolicy().hooks();
    // Health probes, GPU samples and endpoint model lists, over the same transports the tasks use.
    const hosts = stack.use(new LoopHosts(config, bus, (host) => runtime.transport(host)));
    this.#hosts = hosts;
    const log = new ForwardingLogger();
    const loop = new Loop({
      store: runtime.store,
      owner,
      log,
      clock: clockFor(runtime.store),
      config,
      bus,
      transport: (host) => runtime.transport(host),
      hostUp: (host) => hosts.hostUp(host),
      // The store's count at once, also on a host busy with slots of the count before.
      usableSlots: (host, vramGb, used) =>
        Math.min(
          hosts.usableSlots(host, vramGb, used),
          this.#dbHosts?.slotsOf(host) ?? Number.POSITIVE_INFINITY,
        ),
      gpuFits: (host, gpus, vramGb) => hosts.gpuFits(host, gpus, vramGb),
      refusal: (host, task) => hosts.refusal(host, task),
      ...(options.legacy ? { legacy: true } : {}),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      // Queue strategy (fair turns, boost), rate limits and queue limits; then the pipeline's gate.
      ...queuePolicy,
      ...pipeline.loopOptions(runtime.plugins, queuePolicy),
    });
    this.#loop = loop;
    pipeline.bind(loop);
    hosts.onChange = () => loop.kick();
    if (catalog && this.#dbHosts) {
      const dbHosts = this.#dbHosts;
      // Another machine's `ygg hosts sync`: the new slots apply here too.
      const off = catalog.watch(() => {
        void dbHosts.refresh().then(
          (changed) => changed && this.#file && this.#apply(this.#file),
          () => undefined,
        );
      });
      stack.defer(() => off());
    }
    // Durable per-submitter and per-type counters (`ygg stats`), fed by the loop's events.
    const counting = feedCounters({
      bus,
      counters: countersFor(runtime.store),
      task: (id) => runtime.store.get(id),
      evalTypes: () => loop.config.queue.evalTypes,
      onError: (error) => this.#warn(`ygg: counters not written yet (will retry): ${String(error)}\n`),
    });
    stack.defer(() => counting.close());
    // Lines ygg keeps but cannot read: told at start, and as new ones appear.
    const tellStoreProblems = storeProblemReporter(runtime.store, this.#warn);
    tellStoreProblems();
    const offProblems = runtime.store.watch(() => tellStoreProblems());
    stack.defer(() => offProblems());
    for (const problem of runtime.plugins.problems)
      this.#warn(`ygg: plugin ${problem.path} failed to load: ${problem.error}\n`);
    if (options.watchConfig) {
      const unwatch = watchFile(runtime.configPath, () => void this.reload());
      stack.defer(() => unwatch());
    }
    // Logs, status server, metrics, notifications, progress: wired before start so no event is missed.
    this.#observed = stack.use(await observeLoop(loop, options, { untilIdle: options.untilIdle === true }));
    // Handlers' own lines and the runner's errors, in the loop's log with its events.
    log.target = this.#observed.logger;
    // Disposed first: the loop stops (its attempts settle) before what it uses closes.
    stack.defer(async () => {
      if (loop.state !== 'stopped') await loop.stop({ force: true });
    });
  }
}

function stopped(loop: Loop): Promise<void> {
  if (loop.state === 'stopped') return Promise.resolve();
  return new Promise((resolve) => {
    const off = loop.bus.on('loop:state', ({ state }) => {
      if (state === 'stopped') {
        off();
        resolve();
      }
    });
  });
}

/** Calls `onChange` once an edit of the file settles (editors write in several steps). */
function watchFile(path: string, onChange: () => void): () => void {
  try {
    let timer: NodeJS.Timeout | undefined;
    const watcher = watch(path, () => {
      clearTimeout(timer);
      timer = setTimeout(onChange, 200);
    });
    watcher.on('error', () => watcher.close());
    return () => {
      clearTimeout(timer);
      watcher.close();
    };
  } catch {
    return () => {};
  }
}

/** Cleanups run last-in first-out, every one even when another fails (Node 20 has no AsyncDisposableStack). */
class CleanupStack {
  readonly #cleanups: Array<() => unknown> = [];

  use<T extends AsyncDisposable | Disposable>(resource: T): T {
    this.#cleanups.push(() =>
      Symbol.asyncDispose in resource
        ? (resource as AsyncDisposable)[Symbol.asyncDispose]()
        : (resource as Disposable)[Symbol.dispose](),
    );
    return resource;
  }

  defer(cleanup: () => unknown): void {
    this.#cleanups.push(cleanup);
  }

  async dispose(): Promise<void> {
    const errors: unknown[] = [];
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several cleanups failed');
  }
}

/** Opens a dispatcher, runs it (with `untilIdle`, to the end) and closes it: for benches and examples. */
export async function runDispatcher(options: DispatcherOptions): Promise<Loop> {
  await using dispatcher = await Dispatcher.open(options);
  await dispatcher.run();
  return dispatcher.loop;
}
