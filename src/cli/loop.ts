import { watch } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { formatProblem } from '../config/problems.js';
import { Loop } from '../dispatch/loop.js';
import { QueuePolicy } from '../dispatch/queue-policy.js';
import { ExitError } from '../errors.js';
import { feedCounters } from '../observe/counter-feed.js';
import { Counters } from '../observe/counters.js';
import { EventBus } from '../observe/events.js';
import { parseDuration } from './add.js';
import { LoopHosts } from './loop-hosts.js';
import { type ObserveFlags, observeLoop, withObserveOptions } from './loop-observers.js';
import { openLoopPipeline } from './loop-pipeline.js';
import { type CommonOptions, openRuntime, withCommonOptions } from './runtime.js';
import { storeProblemReporter } from './store-problems.js';

export interface LoopCommandOptions extends CommonOptions, ObserveFlags {
  legacy?: boolean;
  untilIdle?: boolean;
  interval?: number;
  graceMs?: number;
}

export interface LoopRun {
  /** How it ended: idle (with --until-idle), stopped by a signal gracefully, or forced. */
  ending: 'idle' | 'graceful' | 'forced';
  signal?: NodeJS.Signals;
  loop: Loop;
}

/**
 * Runs the dispatch loop until idle (`untilIdle`) or until SIGINT/SIGTERM: the first signal stops
 * claiming and waits for running tasks (up to the grace period); a second aborts them, and they
 * are reopened to run again later.
 */
export async function runLoopCommand(options: LoopCommandOptions, bus = new EventBus()): Promise<LoopRun> {
  await using runtime = await openRuntime(options);
  // --interval stands over hosts.yaml, also after a reload.
  const withFlags = (loaded: typeof runtime.config) =>
    options.interval === undefined
      ? loaded
      : { ...loaded, queue: { ...loaded.queue, pollIntervalMs: options.interval } };
  const config = withFlags(runtime.config);
  // Tool queue, rollouts and the learner, when hosts.yaml has tools or a learner.
  await using pipeline = await openLoopPipeline(runtime, config, bus);
  const queuePolicy = new QueuePolicy().hooks();
  // Health probes, GPU samples and endpoint model lists, over the same transports the tasks use.
  await using hosts = new LoopHosts(config, bus, (host) => runtime.transport(host));
  const loop = new Loop({
    store: runtime.store,
    config,
    bus,
    transport: (host) => runtime.transport(host),
    hostUp: (host) => hosts.hostUp(host),
    usableSlots: (host, vramGb, used) => hosts.usableSlots(host, vramGb, used),
    gpuFits: (host, gpus, vramGb) => hosts.gpuFits(host, gpus, vramGb),
    refusal: (host, task) => hosts.refusal(host, task),
    ...(options.legacy ? { legacy: true } : {}),
    // Queue strategy (fair turns, boost), rate limits and queue limits; then the pipeline's gate.
    ...queuePolicy,
    ...pipeline.loopOptions(runtime.plugins, queuePolicy),
  });
  pipeline.bind(loop);
  hosts.onChange = () => loop.kick();
  // Durable per-submitter and per-type counters (`ygg stats`), fed by the loop's events.
  const counting = feedCounters({
    bus,
    counters: new Counters(runtime.store.runtimeDir),
    task: (id) => runtime.store.get(id),
    evalTypes: () => loop.config.queue.evalTypes,
    onError: (error) =>
      process.stderr.write(`ygg: counters not written yet (will retry): ${String(error)}\n`),
  });
  // Lines ygg keeps but cannot read: told at start, and as new ones appear.
  const tellStoreProblems = storeProblemReporter(runtime.store, (text) => process.stderr.write(text));
  tellStoreProblems();
  const offProblems = runtime.store.watch(() => tellStoreProblems());
  for (const problem of runtime.plugins.problems) {
    process.stderr.write(`ygg: plugin ${problem.path} failed to load: ${problem.error}\n`);
  }
  // Logs, status server, metrics, notifications, progress: wired before start so no event is missed.
  await using _observed = await observeLoop(loop, options, { untilIdle: options.untilIdle === true });

  let ending: LoopRun['ending'] = 'idle';
  let caught: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (caught) {
      ending = 'forced';
      process.stderr.write(`ygg: ${signal} again: aborting running tasks; they will run again later\n`);
      void loop.stop({ force: true });
      return;
    }
    caught = signal;
    ending = 'graceful';
    process.stderr.write(
      `ygg: ${signal}: no new tasks; waiting for running ones (send it again to abort them)\n`,
    );
    void loop.stop({ ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }) });
  };
  // A reload never stops the loop: whatever goes wrong keeps the running config and says why.
  const keepRunningConfig = (errors: string[], what = 'is invalid') => {
    bus.emit('config:invalid', { path: runtime.configPath, errors });
    process.stderr.write(
      `ygg: ${runtime.configPath} ${what}; keeping the running config:\n${errors.join('\n')}\n`,
    );
  };
  const reload = () => {
    loadConfig(runtime.configPath)
      .then((result) => {
        if (!result.config) return keepRunningConfig(result.errors.map((e) => formatProblem(e)));
        hosts.reconfigure(result.config);
        loop.reconfigure(withFlags(result.config));
      })
      .catch((error: unknown) => {
        keepRunningConfig([String(error)], 'could not be applied');
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', reload);
  const configWatcher = watchFile(runtime.configPath, reload);
  try {
    await hosts.ready();
    await loop.start();
    if (options.untilIdle) {
      await loop.untilIdle();
      if (!caught) await loop.stop();
    }
    await waitStopped(loop);
    if (loop.forced) ending = 'forced';
    return { ending, ...(caught ? { signal: caught } : {}), loop };
  } finally {
    await counting.close();
    offProblems();
    configWatcher();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', reload);
  }
}

function waitStopped(loop: Loop): Promise<void> {
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

function watchFile(path: string, onChange: () => void): () => void {
  try {
    let timer: NodeJS.Timeout | undefined;
    const watcher = watch(path, () => {
      // Editors write in several steps; react once they are done.
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

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

export function register(program: Command): void {
  withCommonOptions(
    withObserveOptions(program.command('loop'))
      .description('run the dispatcher: watch the store, route ready tasks to hosts, write outcomes back')
      .option('--async', 'run tasks concurrently under per-host slots (the default)')
      .option(
        '--legacy',
        'the Python dispatcher’s older behaviour, for comparison: one running task per type',
      )
      .option('--until-idle', 'exit 0 once nothing is ready, running or waiting for a retry')
      .option(
        '--interval <duration>',
        'safety-net poll of the store besides the file watch (500ms, 5s; a bare number is ms)',
        parseDuration,
      )
      .option(
        '--grace <duration>',
        'on SIGINT/SIGTERM, how long running tasks may finish before they are aborted (30s, 2m)',
        parseDuration,
      ),
  ).action(async (flags: LoopCommandOptions & { grace?: number }) => {
    const run = await runLoopCommand({
      ...flags,
      ...(flags.grace === undefined ? {} : { graceMs: flags.grace }),
    });
    const t = run.loop.totals;
    process.stderr.write(
      `ygg: loop ${run.ending === 'idle' ? 'idle' : 'stopped'}: ${t.succeeded} succeeded, ${t.retried} retried, ${t.dead} dead, ${t.cancelled} cancelled\n`,
    );
    if (run.ending === 'forced') {
      process.stderr.write(
        'ygg: running tasks were aborted (a second signal, or the grace period ran out) and reopened to run again later\n',
      );
      throw new ExitError(128 + (signalNumbers[run.signal ?? 'SIGTERM'] ?? 15));
    }
  });
}
