import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { openConfig } from '../app/config.js';
import { version } from '../app/version.js';
import type { YggConfig } from '../config/types.js';
import { cancelTask, retryTask } from '../dispatch/operator.js';
import { type MonitorActions, startMonitorApp } from '../observe/monitor/app.js';
import type { StatusClient } from '../observe/monitor/client.js';
import { runFeed } from '../observe/monitor/feed.js';
import { renderFrame } from '../observe/monitor/render.js';
import type { StatusSnapshot } from '../observe/snapshot.js';
import { snapshotFromStore } from '../observe/store-snapshot.js';
import { openStore } from '../store/open.js';
import type { TaskStore } from '../store/store.js';
import { withStoreReasons } from './list-reasons.js';
import { liveSnapshot } from './live-loops.js';
import { type CommonOptions, withCommonOptions } from './runtime.js';

export interface MonitorOptions extends CommonOptions {
  once?: boolean;
  json?: boolean;
}

/** Whether to colour output on this stream: a colour terminal and no NO_COLOR. */
export function useColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && (stream.hasColors?.() ?? false);
}

async function configOrNothing(options: CommonOptions): Promise<YggConfig | undefined> {
  try {
    return (await openConfig(options)).config;
  } catch {
    return undefined; // the queue can still be shown without routing details
  }
}

/** The current snapshot: every running loop's view merged, else from the store alone. */
export async function currentSnapshot(
  store: TaskStore,
  config: YggConfig | undefined,
): Promise<{ snapshot: StatusSnapshot }> {
  const live = await liveSnapshot(store, 5000);
  if (live) return { snapshot: live };
  return { snapshot: await withStoreReasons(snapshotFromStore(store, config, { version }), store, config) };
}

/** One frame (`--once`) or the snapshot as JSON (`--json`). */
export async function monitorOnce(
  options: MonitorOptions,
  size: { columns: number; rows: number },
  color: boolean,
): Promise<string> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  const { snapshot } = await currentSnapshot(store, await configOrNothing(options));
  if (options.json) return `${JSON.stringify(snapshot, null, 2)}\n`;
  const lines = renderFrame(snapshot, { selected: 0 }, size, color);
  // A printed frame has no keys to press and no screen to fill.
  lines.pop();
  while (lines.length > 0 && lines.at(-1)?.trim() === '') lines.pop();
  return `${lines.join('\n')}\n`;
}

/** The live view until the user presses q. */
export async function monitorInteractive(options: MonitorOptions): Promise<void> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  const config = await configOrNothing(options);
  let client: StatusClient | undefined;
  const by = `${userInfo().username} (monitor)`;
  const actions: MonitorActions = {
    async cancel(id) {
      if (client) await client.action(id, 'cancel', by);
      else await cancelTask(store, id, by);
    },
    async retry(id) {
      if (client) await client.action(id, 'retry');
      else await retryTask(store, id);
    },
  };
  const app = startMonitorApp(
    { input: process.stdin, output: process.stdout },
    actions,
    useColor(process.stdout),
  );
  const stop = new AbortController();
  const feed = runFeed(
    {
      runtimeDir: store,
      storeSnapshot: async () => {
        await store.load();
        return withStoreReasons(snapshotFromStore(store, config, { version }), store, config);
      },
      onUpdate: (update) => {
        client = update.client;
        app.update(update.snapshot, update.client ? undefined : 'loop not running (store only)');
      },
    },
    stop.signal,
  );
  try {
    await app.done;
  } finally {
    app.close();
    stop.abort();
    await feed;
  }
}

export function register(program: Command): void {
  withCommonOptions(
    program
      .command('monitor')
      .description('live view of hosts, queue, running tasks, outcomes and dead letters (q quits)')
      .option('--once', 'print one frame and exit')
      .option('--json', 'print the status snapshot as JSON and exit'),
  ).action(async (flags: MonitorOptions) => {
    const stdout = process.stdout;
    if (flags.once || flags.json || !stdout.isTTY || !process.stdin.isTTY) {
      const size = { columns: stdout.columns ?? 80, rows: stdout.rows ?? 24 };
      stdout.write(await monitorOnce(flags, size, !flags.json && useColor(stdout)));
      return;
    }
    await monitorInteractive(flags);
  });
}
