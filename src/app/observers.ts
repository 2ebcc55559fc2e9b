/**
 * What the dispatcher adds around the loop to be seen: structured logs, the status server (with
 * metrics, the event stream and the web view), notifications, and with --until-idle a progress
 * bar. Call before `loop.start()` so no event is missed; dispose after the loop stopped.
 */
import type { Loop } from '../dispatch/loop.js';
import { YggError } from '../errors.js';
import { createLogger, type Logger, parseLogLevel } from '../observe/logger.js';
import { ProgressWriter } from '../observe/progress-bar.js';
import { type Observers, startObservers } from '../observe/start.js';
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
  const source = loopStatusSource(loop, { version });
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
      source[Symbol.dispose]();
      throw error;
    }
    observers = await start(0);
    logger.warn({ port: observers.server?.port }, `${error.message}; using port ${observers.server?.port}`);
  }
  if (observers.server) stderr.write(`ygg: status and web view at ${observers.server.browserUrl}\n`);
  return {
    logger,
    observers,
    async [Symbol.asyncDispose]() {
      progress?.update();
      progress?.[Symbol.dispose]();
      try {
        await observers.close();
      } finally {
        source[Symbol.dispose]();
        logger.flush();
      }
    },
  };
}
