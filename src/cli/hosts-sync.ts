/**
 * `ygg hosts sync`: writes this machine's hosts.yaml into a PostgreSQL store's hosts (slots,
 * types, roles, GPUs): hosts it lacks are removed, the others written as this file has them.
 * Every dispatcher on the store follows the new slots at once. The deliberate way to change
 * what a dispatcher starting with another hosts.yaml would only report.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { openConfig } from '../app/config.js';
import { hostEntries } from '../app/database-hosts.js';
import { UsageError } from '../errors.js';
import type { CatalogChange } from '../store/host-catalog.js';
import { openStore } from '../store/open.js';
import { hostsCommandOf } from './hosts.js';

export interface HostsSyncOptions {
  store?: string;
  config?: string;
  cwd?: string;
}

export interface HostsSyncResult extends CatalogChange {
  store: string;
  config: string;
  hosts: { name: string; slots: number }[];
}

export async function syncHosts(options: HostsSyncOptions): Promise<HostsSyncResult> {
  const cwd = options.cwd ?? process.cwd();
  const { config, path } = await openConfig({ ...options, cwd });
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    ...(config.store ? { configured: config.store } : {}),
    cwd,
  });
  const catalog = store.hostCatalog;
  if (!catalog) {
    throw new UsageError(`the store ${store.path} keeps no hosts: each loop reads its own hosts.yaml`, {
      hint: 'hosts sync is for a PostgreSQL store: pass --store postgres://… or set YGG_STORE.',
    });
  }
  const entries = hostEntries(config);
  const change = await catalog.replace(entries, `ygg hosts sync on ${hostname()}`);
  return {
    store: store.path,
    config: path,
    hosts: entries.map((h) => ({ name: h.name, slots: h.slots })),
    ...change,
  };
}

function describe(result: HostsSyncResult): string {
  const lines = [`${result.store} now has the hosts of ${result.config}:`];
  for (const host of result.hosts) {
    const note = result.added.includes(host.name)
      ? ' (added)'
      : result.changed.includes(host.name)
        ? ' (changed)'
        : '';
    lines.push(`  ${host.name}: ${host.slots} slot${host.slots === 1 ? '' : 's'}${note}`);
  }
  for (const name of result.removed) lines.push(`  ${name}: removed`);
  if (result.added.length + result.changed.length + result.removed.length === 0)
    lines.push('  (nothing changed)');
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  hostsCommandOf(program)
    .command('sync')
    .description(
      "Write this hosts.yaml's hosts and slots into the PostgreSQL store: every dispatcher follows them.",
    )
    .option('--store <url>', 'the postgres:// URL (default: YGG_STORE, else store: in hosts.yaml)')
    .option('--config <path>', 'hosts.yaml (default: YGG_CONFIG, else beside .beads/, else the shipped one)')
    .option('--json', 'print {store, config, hosts, added, changed, removed} as one JSON object')
    .action(async (flags: { store?: string; config?: string; json?: boolean }) => {
      const result = await syncHosts({
        ...(flags.store ? { store: flags.store } : {}),
        ...(flags.config ? { config: flags.config } : {}),
      });
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : describe(result));
    });
}
