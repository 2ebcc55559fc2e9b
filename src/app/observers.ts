/**
 * What the dispatcher adds around the loop to be seen: structured logs, the status server (with
 * metrics, the event stream and the web view), notifications, and with --until-idle a progress
 * bar; and the retention sweeps that keep `.ygg/` bounded. Call before `loop.start()` so no event
 * is missed; dispose after the loop stopped.
 */

import { hostname } from 'node:os';
import type { Loop } from '../dispatch/loop.js';
import { YggError } from '../errors.js';
import { createLogger, type Logger, parseLogLevel } from '../observe/logger.js';
import { peerMergingSource } from '../observe/loop-peers.js';
import { announceLoop } from '../observe/loop-presence.js';
import { ProgressWriter } from '../observe/progress-bar.js';
import { logSweep } from '../observe/retention/log-sweep.js';
import { startRetention } from '../observe/retention/sweeper.js';
import { type Observers, startObservers } from '../observe/start.js';
import { type StoreLockNotice, storeLockChannel } from '../store/beads-jsonl/store-lock.js';
import { loopStatusSource } from './status-source.js';
import { version } from './version.js';

export interface ObserveFlags {
  statusHost?: string;
  statusPort?: number;
  /** `--no-status` sets false. */
  status?: boolean;
  logLevel?: string;
}

export interface LoopObservers extends AsyncDisposable {
  readonly logger: Logger;
  readonly observers: Observers;
}

export async function observeLoop(
  loop: Loop,
  flags: ObserveFlags,
  options: { untilIdle?: boolean; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream } = {},
): Promise<LoopObservers> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const own = loopStatusSource(loop, { version });
  // The status server shows every loop on the store: this one's view merged with the others'.
  const startedAt = new Date(loop.startedAt).toISOString();
  const self = { owner: loop.owner, pid: process.pid, machine: hostname(), startedAt };
  // On a store shared by machines the loops' records are the store's: every machine sees them.
  const source = peerMergingSource(own, { runtimeDir: loop.store, self });
  const disposeSources = () => {
    source[Symbol.dispose]();
    own[Symbol.dispose]();
  };
  const progress =
    options.untilIdle === true
      ? new ProgressWriter({
          bus: loop.bus,
          stream: stderr,
          pending: () => [...loop.store.ready().map((t) => t.id), ...loop.inFlightIds()],
        })
      : undefined;
  const level = parseLogLevel(flags.logLevel ?? 'info');
  const logger =
    progress && stderr.isTTY
      ? createLogger({ level, destination: progress.wrap(stdout), pretty: stdout.isTTY === true })
      : createLogger({ level, destination: stdout });
  const start = (statusPort: number | undefined) =>
    startObservers({
      bus: loop.bus,
      source,
      config: loop.config,
      store: loop.store,
      logger,
      server: flags.status !== false,
      version,
      ...(flags.statusHost === undefined ? {} : { statusHost: flags.statusHost }),
      ...(statusPort === undefined ? {} : { statusPort }),
    });
  let observers: Observers;
  try {
    observers = await start(flags.statusPort);
  } catch (error) {
    // The configured port is taken (another loop, say) and none was asked for: take a free one.
    if (!(error instanceof YggError) || flags.statusPort !== undefined || !/in use/.test(error.message)) {
      progress?.[Symbol.dispose]();
      disposeSources();
      throw error;
    }
    observers = await start(0);
    logger.warn({ port: observers.server?.port }, `${error.message}; using port ${observers.server?.port}`);
  }
  if (observers.server) stderr.write(`ygg: status and web view at ${observers.server.browserUrl}\n`);
  const server = observers.server;
  const presence = await announceLoop({
    place: loop.store,
    activity: () => loopActivity(loop),
    owner: loop.owner,
    startedAt: loop.startedAt,
    version,
    logger,
    ...(server
      ? { server: { url: server.url, host: server.host, port: server.port, token: server.token } }
      : {}),
  });
  const offLocks = logStoreLocks(logger);
  const retention = startRetention({
    runtimeDir: loop.store.runtimeDir,
    settings: () => loop.config.retention,
    inUse: () => loop.inFlightIds(),
    policyVersionsKept: () => (loop.config.learner?.maxStaleness ?? 1) + 1,
    onSwept: (report) => logSweep(logger, report),
    onError: (error) => logger.warn({ err: error }, 'retention sweep failed; next one as planned'),
  });
  return {
    logger,
    observers,
    async [Symbol.asyncDispose]() {
      progress?.update();
      progress?.[Symbol.dispose]();
      offLocks();
      try {
        await retention.close();
        await observers.close();
        await presence.close();
      } finally {
        disposeSources();
        logger.flush();
      }
    },
  };
}

/** What a loop's record says it holds: its slots in use and the first tasks it runs. */
function loopActivity(loop: Loop): { slotsInUse: number; running: string[] } {
  let slotsInUse = 0;
  for (const slots of loop.slots.values()) slotsInUse += slots.used;
  return { slotsInUse, running: [...loop.running.keys()].slice(0, 20) };
}

/** Store locks this process holds too long or leaves behind, logged at error with their holder. */
export function logStoreLocks(logger: Logger): () => void {
  const listener = (message: unknown) => {
    const notice = message as StoreLockNotice;
    const seconds = (notice.heldMs / 1000).toFixed(1);
    const fields = {
      lock: notice.lockPath,
      holder_pid: notice.holder.pid,
      holder: notice.holder.purpose,
      held_ms: notice.heldMs,
      ...(notice.error ? { error: notice.error } : {}),
    };
    if (notice.kind === 'held-too-long')
      logger.error(
        fields,
        `store lock ${notice.lockPath} held ${seconds} s by this process (pid ${notice.holder.pid}) for ${notice.holder.purpose}; other writers wait`,
      );
    else if (notice.kind === 'not-removed')
      logger.error(
        fields,
        `store lock ${notice.lockPath} could not be removed (${notice.error}); it goes stale and is broken in seconds`,
      );
    else logger.warn(fields, `store lock ${notice.lockPath} released after ${seconds} s`);
  };
  storeLockChannel.subscribe(listener);
  return () => storeLockChannel.unsubscribe(listener);
}
