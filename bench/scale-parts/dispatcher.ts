/**
 * One dispatcher process of the scale bench (forked with IPC): a real loop on the store given
 * (a Beads file or a postgres:// URL) over the hosts of the hosts.yaml given, running at most 8
 * tasks at once (`ygg loop --concurrency 8`: 8 executors, so the work spreads over the
 * dispatchers instead of the first one to look taking every slot), with two in-process
 * handlers: `noop` returns at once, `hold` waits `metadata.bench.ms` (honouring abort). It tells
 * the parent: `ready` (its lease owner), `start` for each task marked `metadata.bench.report`
 * (when the handler began, ms since the epoch), `done` (successes so far, every 10 ms while it
 * changes: the run's end is read from it) and `seen` once a PostgreSQL store has seen another
 * owner's lock with its own session settled (so that owner's death would be trusted).
 *
 * argv: STORE CONFIG [MACHINE]: with MACHINE, the loop's lease owner names that machine (as a
 * dispatcher on another machine would), so only its session lock or its lease tells whether it lives.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { Loop } from '../../src/dispatch/loop.js';
import { QueuePolicy } from '../../src/dispatch/queue-policy.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { EventBus } from '../../src/observe/events.js';
import type { HandlerContext, Plugin } from '../../src/plugins/api.js';
import { openStore } from '../../src/store/open.js';
import type { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Task } from '../../src/store/task.js';

export type FromDispatcher =
  | { ev: 'ready'; owner: string; pid: number }
  | { ev: 'start'; id: string; at: number }
  | { ev: 'done'; n: number }
  | { ev: 'seen'; owner: string };
export type ToDispatcher = { cmd: 'stop' } | { cmd: 'seen'; owner: string };

/** Tasks each dispatcher runs at once, as in the spike (workers of concurrency 8). */
const executors = 8;
const [storeArg, configPath, machine] = process.argv.slice(2) as [string, string, string?];
const owner = machine ? `${machine}:${process.pid}:${Date.now()}` : undefined;
const send = (message: FromDispatcher) => process.send?.(message);

const bench = (task: Task) => (task.metadata as { bench?: { report?: boolean; ms?: number } }).bench ?? {};
const started = (task: Task) => {
  if (bench(task).report) send({ ev: 'start', id: task.id, at: Date.now() });
};
const noop: Plugin = {
  name: 'noop',
  types: [],
  async run(task) {
    started(task);
    return 'ok';
  },
};
const hold: Plugin = {
  name: 'hold',
  types: [],
  async run(task: Task, ctx: HandlerContext) {
    started(task);
    await new Promise<void>((resolve, reject) => {
      if (ctx.signal.aborted) return reject(ctx.signal.reason);
      const timer = setTimeout(resolve, bench(task).ms ?? 0);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        },
        { once: true },
      );
    });
    return 'ok';
  },
};

const parsed = parseConfig(readFileSync(configPath, 'utf8'), configPath);
if (!parsed.config) throw new Error(JSON.stringify(parsed.errors));
const config = parsed.config;
const store = await openStore({ path: storeArg, cwd: dirname(configPath) });
const bus = new EventBus();
const transports = new Map(config.hosts.map((host) => [host.name, new LocalTransport(host.name)]));
const plugins = {
  byName: new Map([
    [noop.name, noop],
    [hold.name, hold],
  ]),
  byType: new Map<string, Plugin>(),
  problems: [],
  conflicts: [],
};
const loop = new Loop({
  store,
  config,
  plugins,
  bus,
  transport: (host) => transports.get(host.name) as LocalTransport,
  ...(owner ? { owner } : {}),
  concurrency: executors,
  // As `ygg loop` orders and admits: queue.strategy, boosts, rate and queue limits.
  ...new QueuePolicy().hooks(),
});
let done = 0;
let told = 0;
bus.on('task:succeeded', () => {
  done += 1;
});
const tell = setInterval(() => {
  if (done === told) return;
  told = done;
  send({ ev: 'done', n: done });
}, 10);

async function whenSeen(other: string): Promise<void> {
  const locks = (store as Partial<PostgresStore>).ownerLocks;
  while (locks && !(locks.seen(other) && locks.trustedObservations > 0))
    await new Promise((resolve) => setTimeout(resolve, 50));
  send({ ev: 'seen', owner: other });
}

process.on('message', (message: ToDispatcher) => {
  if (message.cmd === 'seen') void whenSeen(message.owner);
  if (message.cmd === 'stop')
    void (async () => {
      clearInterval(tell);
      await loop.stop({ force: true });
      await store.close();
      process.exit(0);
    })();
});

await loop.start();
send({ ev: 'ready', owner: loop.owner, pid: process.pid });
