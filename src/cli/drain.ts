/**
 * `ygg hosts drain NAME [--undo]`: a drained host takes no new tasks; those running on it finish.
 * Every loop on the store follows the switch within a moment (it watches `.ygg/control.json`).
 */
import type { Command } from 'commander';
import { openConfig } from '../app/config.js';
import { updateControl } from '../dispatch/control.js';
import { YggError } from '../errors.js';
import { openStore } from '../store/open.js';
import { hostsCommandOf } from './hosts.js';
import type { CommonOptions } from './runtime.js';
import { storeOptionHelp } from './store-help.js';

export interface DrainOptions extends CommonOptions {
  host: string;
  undo?: boolean;
}

/** Drains (or, with `undo`, returns) a host; returns the hosts drained afterwards. */
export async function drainHost(options: DrainOptions): Promise<string[]> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  const { config, path } = await openConfig({ ...options, cwd: options.cwd ?? process.cwd() });
  const known = config.hosts.map((h) => h.name);
  if (!options.undo && !known.includes(options.host)) {
    throw new YggError(`no host named ${options.host} in ${path}`, { hint: `Hosts: ${known.join(', ')}.` });
  }
  const next = await updateControl(store, (state) => ({
    ...state,
    drained: options.undo
      ? state.drained.filter((h) => h !== options.host)
      : [...new Set([...state.drained, options.host])],
  }));
  return next.drained;
}

export function register(program: Command): void {
  hostsCommandOf(program)
    .command('drain <name>')
    .description('Stop sending new tasks to host NAME (running ones finish); --undo sends them again.')
    .option('--undo', 'take the host back into service')
    .option('--store <path|url>', storeOptionHelp)
    .option('--config <path>', 'hosts.yaml')
    .option('--json', 'print {host, drained, drained_hosts} as one JSON object')
    .action(
      async (name: string, flags: { undo?: boolean; store?: string; config?: string; json?: boolean }) => {
        const drained = await drainHost({
          host: name,
          ...(flags.undo ? { undo: true } : {}),
          ...(flags.store ? { store: flags.store } : {}),
          ...(flags.config ? { config: flags.config } : {}),
        });
        if (flags.json) {
          const host = { host: name, drained: drained.includes(name), drained_hosts: drained };
          process.stdout.write(`${JSON.stringify(host)}\n`);
          return;
        }
        const state = flags.undo
          ? `${name} takes new tasks again`
          : `${name} drained: no new tasks; running ones finish`;
        process.stdout.write(
          `${state}\ndrained hosts: ${drained.length > 0 ? drained.join(', ') : 'none'}\n`,
        );
      },
    );
}
