import { type Command, InvalidArgumentError } from 'commander';
import {
  Dispatcher,
  type DispatcherOptions,
  defaultHostsDownMs,
  type IdleReport,
} from '../app/dispatcher.js';
import type { Loop } from '../dispatch/loop.js';
import { ExitError } from '../errors.js';
import { EventBus } from '../observe/events.js';
import { cell, noteWidth, titleWidth } from '../text/cell.js';
import { plural } from '../text/plural.js';
import { parseDuration } from './add-task.js';
import { type ObserveFlags, withObserveOptions } from './observe-options.js';
import { type CommonOptions, withCommonOptions } from './runtime.js';

export interface LoopCommandOptions extends CommonOptions, ObserveFlags {
  legacy?: boolean;
  concurrency?: number;
  untilIdle?: boolean;
  hostsDownMs?: number;
  interval?: number;
  graceMs?: number;
}

export interface LoopRun {
  /** How it ended: idle (with --until-idle), stopped by a signal gracefully, or forced. */
  ending: 'idle' | 'graceful' | 'forced';
  signal?: NodeJS.Signals;
  loop: Loop;
  /** With --until-idle: how it ended and the tasks left. */
  idle?: IdleReport;
}

/** `--until-idle` exits with this when tasks are left that it could not run. */
export const tasksLeftExitCode = 3;

/**
 * Runs the dispatcher until idle (`untilIdle`) or until SIGINT/SIGTERM: the first signal stops
 * claiming and waits for running tasks (up to the grace period); a second aborts them, and they
 * are reopened to run again later. SIGHUP and edits of hosts.yaml reload it.
 */
export async function runLoopCommand(options: LoopCommandOptions, bus = new EventBus()): Promise<LoopRun> {
  const { interval, graceMs, ...rest } = options;
  const dispatcherOptions: DispatcherOptions = {
    ...rest,
    bus,
    watchConfig: true,
    ...(interval === undefined ? {} : { intervalMs: interval }),
  };
  // Said on stderr: a loop that starts nothing because the queue is paused should say why.
  const offPaused = bus.on('queue:paused', ({ paused }) =>
    process.stderr.write(
      paused
        ? 'ygg: the queue is paused: no new tasks start until `ygg resume` (running ones finish)\n'
        : 'ygg: the queue was resumed: tasks start again\n',
    ),
  );
  await using dispatcher = await Dispatcher.open(dispatcherOptions);
  const loop = dispatcher.loop;
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
    void loop.stop(graceMs === undefined ? {} : { graceMs });
  };
  const reload = () => void dispatcher.reload();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', reload);
  try {
    const idle = await dispatcher.run();
    if (loop.forced) ending = 'forced';
    return { ending, ...(caught ? { signal: caught } : {}), loop, ...(idle && !caught ? { idle } : {}) };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', reload);
    offPaused();
  }
}

function parseConcurrency(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`give a whole number of at least 1, not "${raw}".`);
  return n;
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
      .option(
        '--concurrency <n>',
        'run at most N tasks at once in this loop, across all hosts (default: as many as the free slots allow); other loops on the store take the rest',
        parseConcurrency,
      )
      .option(
        '--until-idle',
        `exit once nothing is ready, running or waiting for a retry: 0 when no task is left, ${tasksLeftExitCode} naming each task left and why`,
      )
      .option(
        '--hosts-down-wait <duration>',
        'with --until-idle: how long ready tasks may wait on hosts that are all down or drained before it exits (default 2m)',
        parseDuration,
      )
      .option(
        '--interval <duration>',
        'safety-net poll of the store besides the file watch (500ms, 5s; a bare number is seconds)',
        parseDuration,
      )
      .option(
        '--grace <duration>',
        'on SIGINT/SIGTERM, how long running tasks may finish before they are aborted (30s, 2m)',
        parseDuration,
      ),
  ).action(async (flags: LoopCommandOptions & { grace?: number; hostsDownWait?: number }) => {
    const run = await runLoopCommand({
      ...flags,
      ...(flags.grace === undefined ? {} : { graceMs: flags.grace }),
      ...(flags.hostsDownWait === undefined ? {} : { hostsDownMs: flags.hostsDownWait }),
    });
    const t = run.loop.totals;
    process.stderr.write(
      `ygg: loop ${run.ending === 'idle' ? 'idle' : 'stopped'}: ${t.succeeded} succeeded, ${t.retried} retried, ${t.dead} dead, ${t.cancelled} cancelled\n`,
    );
    if (run.idle && run.idle.left.length > 0) {
      process.stderr.write(idleReportText(run.idle, flags.hostsDownWait ?? defaultHostsDownMs));
      throw new ExitError(tasksLeftExitCode);
    }
    if (run.ending === 'forced') {
      process.stderr.write(
        'ygg: running tasks were aborted (a second signal, or the grace period ran out) and reopened to run again later\n',
      );
      throw new ExitError(128 + (signalNumbers[run.signal ?? 'SIGTERM'] ?? 15));
    }
  });
}

/** What --until-idle left, each task with why it waits, and why it stopped waiting. */
export function idleReportText(report: IdleReport, hostsDownMs: number): string {
  const left = `${plural(report.left.length, 'task')} left:`;
  const head =
    report.end === 'hosts-down'
      ? `ygg: gave up after ${hostsDownMs / 1000} s: the hosts these tasks need stayed down or drained; ${left}`
      : `ygg: nothing more can run here; ${left}`;
  const rows = report.left.map(
    (t) => `  ${t.id}  ${cell(t.title, titleWidth)}: ${cell(t.reason, noteWidth)}`,
  );
  return `${[head, ...rows].join('\n')}\n`;
}
