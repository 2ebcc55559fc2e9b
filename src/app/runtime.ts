/**
 * Puts the parts together for a command: the store, hosts.yaml, the plugins and one transport
 * per host.
 */
import { type CommonOptions, openConfig } from './config.js';

export type { CommonOptions } from './config.js';

import type { YggConfig } from '../config/types.js';
import { YggError } from '../errors.js';
import { createTransport } from '../hosts/pool.js';
import type { Transport } from '../hosts/transport.js';
import { builtinPluginDir, loadPlugins, type PluginSet } from '../plugins/loader.js';
import { openStore } from '../store/open.js';
import type { TaskStore } from '../store/store.js';
import { withStoreDefaults } from './store-defaults.js';

export interface Runtime extends AsyncDisposable {
  store: TaskStore;
  config: YggConfig;
  configPath: string;
  plugins: PluginSet;
  transport(host: YggConfig['hosts'][number]): Transport;
}

/** The store lock's wait, well below the lease: a write stuck on the lock fails before a lease could lapse. */
export function lockTimeoutFor(config: YggConfig): number {
  return Math.max(1000, Math.min(20_000, Math.floor(config.queue.leaseMs / 3)));
}

export async function openRuntime(options: CommonOptions): Promise<Runtime> {
  const { config: file, path } = await openConfig(options);
  const store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    ...(file.store ? { configured: file.store } : {}),
    cwd: options.cwd ?? process.cwd(),
    // A database store: said once when it goes away and once when it is back.
    onConnection: (state, where) =>
      process.stderr.write(
        state === 'lost'
          ? `ygg: lost the database ${where}; writes wait until it is back\n`
          : `ygg: the database ${where} is back\n`,
      ),
    lockTimeoutMs: lockTimeoutFor(file),
    // A long-running writer: claims and outcomes go to the store's write-ahead journal (an
    // append and an fdatasync each), folded into the Beads file within a second.
    journal: true,
  });
  const config = withStoreDefaults(file, store);
  const plugins = await loadPlugins([builtinPluginDir(), ...config.pluginDirs]);
  if (plugins.conflicts.length > 0) {
    await store.close();
    throw new YggError(`plugin conflict in ${path}:\n${plugins.conflicts.join('\n')}`, {
      hint: 'give one of the plugins other types, or set the handler per type under types.<name>.handler',
    });
  }
  const transports = new Map<string, Transport>();
  return {
    store,
    config,
    configPath: path,
    plugins,
    transport(host) {
      let transport = transports.get(host.name);
      if (!transport) {
        // SSH hosts get pooled ssh2 connections; both kinds run sandboxed tools under the host's settings.
        transport = createTransport(host);
        transports.set(host.name, transport);
      }
      return transport;
    },
    async [Symbol.asyncDispose]() {
      for (const transport of transports.values()) await transport.close();
      await store.close();
    },
  };
}
