import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { YggConfig } from '../../src/config/types.js';
import type { Clock } from '../../src/dispatch/clock.js';
import { Loop, type LoopOptions } from '../../src/dispatch/loop.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { EventBus, type YggEventName, type YggEvents } from '../../src/observe/events.js';
import type { Plugin } from '../../src/plugins/api.js';
import type { PluginSet } from '../../src/plugins/loader.js';
import { openStore } from '../../src/store/open.js';
import type { TaskStore } from '../../src/store/store.js';
import { testDir } from './tmp.js';

export interface Harness {
  dir: string;
  storePath: string;
  store: TaskStore;
  loop: Loop;
  bus: EventBus;
  config: YggConfig;
  events: Array<{ event: YggEventName; payload: unknown }>;
  /** Resolves with the first event (past or future) matching the predicate; rejects after `ms`. */
  waitFor<E extends YggEventName>(
    event: E,
    match?: (p: YggEvents[E]) => boolean,
    ms?: number,
  ): Promise<YggEvents[E]>;
}

/** Plugins handed to the loop directly (the loader has its own tests). */
export function pluginSet(...plugins: Plugin[]): PluginSet {
  const byType = new Map<string, Plugin>();
  for (const p of plugins) for (const t of p.types) byType.set(t, p);
  return { byName: new Map(plugins.map((p) => [p.name, p])), byType, problems: [], conflicts: [] };
}

/**
 * A real store file in a per-test folder, hosts.yaml text parsed by the real config loader, and a
 * loop over them (started by the test). Stopped when the test ends.
 */
export async function loopHarness(
  name: string,
  hostsYaml: string,
  plugins: PluginSet,
  options: Partial<LoopOptions> & { clock?: Clock; start?: boolean } = {},
): Promise<Harness> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'), { recursive: true });
  const storePath = join(dir, '.beads', 'issues.jsonl');
  await writeFile(storePath, '');
  const parsed = parseConfig(hostsYaml, join(dir, 'hosts.yaml'));
  if (!parsed.config) throw new Error(`test config invalid: ${JSON.stringify(parsed.errors)}`);
  const config = parsed.config;
  const store = await openStore({ path: storePath, cwd: dir });
  const bus = new EventBus();
  const events: Harness['events'] = [];
  bus.onAny((event, payload) => events.push({ event, payload }));
  const transports = new Map<string, LocalTransport>();
  const loop = new Loop({
    store,
    config,
    plugins,
    bus,
    transport: (host) => {
      let t = transports.get(host.name);
      if (!t) {
        t = new LocalTransport(host.name);
        transports.set(host.name, t);
      }
      return t;
    },
    ...options,
  });
  onTestFinished(async () => {
    await loop.stop({ force: true });
    await store.close();
  });
  const waitFor: Harness['waitFor'] = (event, match, ms = 30_000) =>
    new Promise((resolve, reject) => {
      const past = events.find((e) => e.event === event && (!match || match(e.payload as never)));
      if (past) return resolve(past.payload as never);
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${ms} ms waiting for ${event}`));
      }, ms);
      const off = bus.on(event, (payload) => {
        if (match && !match(payload)) return;
        clearTimeout(timer);
        off();
        resolve(payload);
      });
    });
  if (options.start !== false) await loop.start();
  return { dir, storePath, store, loop, bus, config, events, waitFor };
}

/** A promise with its resolve function, for handlers the test releases by hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
