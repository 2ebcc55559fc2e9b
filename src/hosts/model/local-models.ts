/**
 * A model server found on this machine, given to the local hosts that name no endpoint, and what
 * was seen written to `.ygg/models.json`, so that `ygg add` can warn about a task no host can run
 * without asking the network (the loop and `ygg doctor` write it; `add` only reads it).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configDefaults } from '../../config/defaults.js';
import type { HostConfig, YggConfig } from '../../config/types.js';
import { plural } from '../../text/plural.js';
import type { FoundModelServer } from './discover.js';

export const seenModelsFile = 'models.json';

export interface SeenModels {
  /** When it was written (ISO). */
  at: string;
  /** The server found on this machine, if any was looked for and found. */
  found?: FoundModelServer;
  /** Per host: its endpoint's model, and the models its endpoint lists when known. */
  hosts: Record<string, { model?: string; listed?: string[] }>;
}

/** Local hosts that may serve models and name no endpoint: the ones a found server is for. */
export function wantsLocalModel(host: HostConfig): boolean {
  return host.transport === 'local' && host.roles.includes('inference') && !host.model;
}

/** The config with the found server as the model endpoint of every local host without one. */
export function withLocalModel(config: YggConfig, found: FoundModelServer | undefined): YggConfig {
  const model = found?.models[0];
  if (!found || !model) return config;
  const d = configDefaults.model;
  return {
    ...config,
    hosts: config.hosts.map((host) =>
      wantsLocalModel(host)
        ? {
            ...host,
            model: {
              api: found.api,
              url: found.url,
              model,
              connectTimeoutMs: d.connectTimeoutMs,
              firstTokenTimeoutMs: d.firstTokenTimeoutMs,
              idleTimeoutMs: d.idleTimeoutMs,
              totalTimeoutMs: d.totalTimeoutMs,
            },
          }
        : host,
    ),
  };
}

/** One line saying what was found and what it is used for. */
export function describeFound(config: YggConfig, found: FoundModelServer | undefined): string | undefined {
  const takers = config.hosts.filter(wantsLocalModel).map((h) => h.name);
  if (takers.length === 0) return undefined;
  if (!found)
    return `no model server found on ${config.discoverModels.join(' or ')}; ${takers.join(', ')} have no model endpoint (set model: in hosts.yaml, or start one)`;
  const name = found.api === 'ollama' ? 'Ollama' : 'an OpenAI-compatible server';
  if (found.models.length === 0)
    return `found ${name} at ${found.url}, but it lists no models; ${takers.join(', ')} ${takers.length === 1 ? 'has' : 'have'} no model to use`;
  return `found ${name} at ${found.url} with ${plural(found.models.length, 'model')}; ${takers.join(', ')} ${takers.length === 1 ? 'uses' : 'use'} it (${found.models[0]})`;
}

/** What to write: each host's endpoint model, and the models listed (by the found server, or `listed` as doctor read them). */
export function seenModelsOf(
  config: YggConfig,
  found: FoundModelServer | undefined,
  now = new Date(),
  listed: ReadonlyMap<string, string[]> = new Map(),
): SeenModels {
  const hosts: SeenModels['hosts'] = {};
  for (const host of config.hosts) {
    const model = host.model?.model;
    const read = listed.get(host.name) ?? (found && host.model?.url === found.url ? found.models : undefined);
    hosts[host.name] = { ...(model ? { model } : {}), ...(read ? { listed: [...new Set(read)] } : {}) };
  }
  return { at: now.toISOString(), ...(found ? { found } : {}), hosts };
}

export function writeSeenModels(runtimeDir: string, seen: SeenModels): void {
  mkdirSync(runtimeDir, { recursive: true });
  const file = join(runtimeDir, seenModelsFile);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(seen)}\n`);
  renameSync(temp, file);
}

/** What the loop or doctor last saw; undefined when nothing was written (or it is unreadable). */
export function readSeenModels(runtimeDir: string): SeenModels | undefined {
  try {
    const seen = JSON.parse(readFileSync(join(runtimeDir, seenModelsFile), 'utf8')) as SeenModels;
    return seen && typeof seen === 'object' && seen.hosts ? seen : undefined;
  } catch {
    return undefined;
  }
}
