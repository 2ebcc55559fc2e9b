import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { YggConfig } from '../../src/config/types.js';
import { Loop } from '../../src/dispatch/loop.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { EventBus } from '../../src/observe/events.js';
import type { Plugin } from '../../src/plugins/api.js';
import { openStore } from '../../src/store/open.js';
import type { TaskStore } from '../../src/store/store.js';

/** One bd-style issue line; closed filler issues make the store as large as a real one. */
export function issueLine(
  id: string,
  open: boolean,
  createdAt: Date,
  extra: Record<string, unknown> = {},
): string {
  const stamp = createdAt.toISOString().replace('.000Z', 'Z');
  const issue: Record<string, unknown> = {
    id,
    title: open ? `bench task ${id}` : `finished work item ${id}`,
    description: 'Generated for a benchmark: a short description of the kind bd issues carry.',
    status: open ? 'open' : 'closed',
    priority: 2,
    issue_type: 'task',
    created_at: stamp,
    updated_at: stamp,
    ...(open ? {} : { closed_at: stamp, close_reason: 'done' }),
    ...extra,
  };
  return JSON.stringify(issue);
}

export interface BenchWorkspace {
  dir: string;
  storePath: string;
  store: TaskStore;
  loop: Loop;
  bus: EventBus;
  config: YggConfig;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A store of `total` issues (`open` of them runnable by `plugin`) and a loop over one local host. */
export async function benchWorkspace(options: {
  total: number;
  open: number;
  slots: number;
  plugin: Plugin;
  leaseMs?: number;
}): Promise<BenchWorkspace> {
  const dir = await mkdtemp(join(tmpdir(), 'ygg-bench-'));
  await mkdir(join(dir, '.beads'));
  const storePath = join(dir, '.beads', 'issues.jsonl');
  const base = Date.parse('2026-01-01T00:00:00Z');
  const lines: string[] = [];
  for (let i = 0; i < options.total; i += 1) {
    const open = i >= options.total - options.open;
    lines.push(
      issueLine(
        `bench-${i.toString(36)}`,
        open,
        new Date(base + i * 1000),
        open ? { metadata: { ygg: { handler: options.plugin.name } } } : {},
      ),
    );
  }
  await writeFile(storePath, lines.length > 0 ? `${lines.join('\n')}\n` : '');
  const yaml = `hosts:\n  bench:\n    transport: local\n    slots: ${options.slots}\nqueue:\n  lease: ${Math.round((options.leaseMs ?? 60_000) / 1000)}s\n`;
  const parsed = parseConfig(yaml, join(dir, 'hosts.yaml'));
  if (!parsed.config) throw new Error(JSON.stringify(parsed.errors));
  const store = await openStore({ path: storePath, cwd: dir, journal: true });
  const bus = new EventBus();
  const transport = new LocalTransport('bench');
  const plugins = {
    byName: new Map([[options.plugin.name, options.plugin]]),
    byType: new Map(options.plugin.types.map((t) => [t, options.plugin])),
    problems: [],
    conflicts: [],
  };
  const loop = new Loop({ store, config: parsed.config, plugins, bus, transport: () => transport });
  return {
    dir,
    storePath,
    store,
    loop,
    bus,
    config: parsed.config,
    async [Symbol.asyncDispose]() {
      await loop.stop({ force: true });
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
