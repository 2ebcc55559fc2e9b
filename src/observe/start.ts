/**
 * One call for the loop (or `ygg loop`) to wire every observer to the bus: event logs, metrics,
 * notifications and the status server. Returns a disposable that undoes it all.
 */
import type { Logger } from 'pino';
import type { YggConfig } from '../config/types.js';
import type { TaskStore } from '../store/store.js';
import type { EventBus } from './events.js';
import { logEvents } from './log-events.js';
import { createMetrics, type Metrics } from './metrics.js';
import { type Notifier, notifySettingsFrom, startNotifier } from './notify.js';
import { defaultStatusHost, defaultStatusPort, type StatusServer, startStatusServer } from './server.js';
import type { StatusSnapshot, StatusSource } from './snapshot.js';
import { StatusTracker } from './status-tracker.js';

export interface ObserversOptions {
  bus: EventBus;
  source: StatusSource;
  config?: YggConfig;
  /** Its runtime folder receives `status.json` (port and token). */
  store?: TaskStore;
  /** Omitted: events are not logged. */
  logger?: Logger;
  /** `--status-host`; default config `status.host`, else 127.0.0.1. */
  statusHost?: string;
  /** `--status-port`; default config `status.port`, else 7467; 0 picks a free one. */
  statusPort?: number;
  /** False: no status server (metrics and logs still run). Default true. */
  server?: boolean;
  version?: string;
}

export interface Observers extends AsyncDisposable {
  readonly metrics: Metrics;
  readonly server?: StatusServer;
  readonly notifier?: Notifier;
  close(): Promise<void>;
}

export async function startObservers(options: ObserversOptions): Promise<Observers> {
  const { bus, source, config, logger } = options;
  const cleanups: Array<() => unknown> = [];
  const offLogs = logger ? logEvents(bus, logger) : undefined;
  if (offLogs) cleanups.push(offLogs);
  const metrics = createMetrics({ bus, snapshot: () => source.snapshot() });
  cleanups.push(() => metrics[Symbol.dispose]());
  const settings = notifySettingsFrom(config);
  const notifier = settings ? startNotifier({ bus, settings, logger }) : undefined;
  if (notifier) cleanups.push(() => notifier[Symbol.asyncDispose]());
  let server: StatusServer | undefined;
  if (options.server !== false) {
    try {
      server = await startStatusServer({
        source,
        metrics,
        host: options.statusHost ?? config?.status?.host ?? defaultStatusHost,
        port: options.statusPort ?? config?.status?.port ?? defaultStatusPort,
        runtimeDir: options.store?.runtimeDir,
        version: options.version,
        names: config?.status?.names ?? [],
        ...(logger ? { warn: (fields, message) => logger.warn(fields, message) } : {}),
      });
    } catch (error) {
      await runAll(cleanups);
      throw error;
    }
    cleanups.unshift(() => server!.close());
    logger?.info(
      { url: server.url },
      `status at ${server.url} (web view: ${server.url}/ with the token in .ygg/status.json)`,
    );
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= runAll(cleanups);
    return closing;
  };
  return { metrics, server, notifier, close, [Symbol.asyncDispose]: close };
}

/** Runs every cleanup even when one fails; several failures become one AggregateError. */
async function runAll(cleanups: Array<() => unknown>): Promise<void> {
  const results = await Promise.allSettled(cleanups.map(async (fn) => fn()));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'observers did not close cleanly');
}

/**
 * A ready-made StatusSource for the loop: the snapshot comes from a StatusTracker fed by the bus
 * and the store; cancel and retry are the loop's own.
 */
export function trackedStatusSource(options: {
  bus: EventBus;
  store: TaskStore;
  config?: YggConfig;
  version: string;
  cancel: (id: string) => Promise<void>;
  retry: (id: string) => Promise<void>;
  now?: () => number;
}): StatusSource & Disposable & { tracker: StatusTracker } {
  const tracker = new StatusTracker(options);
  return {
    bus: options.bus,
    tracker,
    snapshot: (): StatusSnapshot => tracker.snapshot(),
    cancel: options.cancel,
    retry: options.retry,
    [Symbol.dispose]: () => tracker[Symbol.dispose](),
  };
}
