import type { HostConfig, ModelEndpoint } from '../../config/types.js';
import { toError } from '../../errors.js';
import { createModelClient, type ModelClientOptions } from './client.js';
import { sameModel } from './model-request.js';
import type { ModelClient } from './types.js';

/** What is known of one host's endpoints. */
export interface HostModels {
  host: string;
  /** Models listed by the host's endpoints, once read. */
  listed: string[] | undefined;
  /** Models named in the host's config (its `model` and `models_by_type`). */
  configured: string[];
  /** When the list was last read (ms since epoch). */
  checkedAt: number | undefined;
  /** Why the last read failed, if it did. */
  error: string | undefined;
}

export interface EndpointCatalogOptions extends ModelClientOptions {
  /** Makes the client for an endpoint (default `createModelClient`). */
  clientFor?: (endpoint: ModelEndpoint, host: HostConfig) => ModelClient;
  now?: () => number;
}

/**
 * Which models each host's endpoints serve, for routing a task that asks for one. Read with
 * `refresh()` (`/api/tags`, `/v1/models`) and answered from the cache by `serves()`, so the
 * router never waits on the network. Before a host's list is read, or while it cannot be read,
 * the models named in its config count as served.
 */
export class EndpointCatalog {
  readonly #hosts = new Map<string, HostConfig>();
  readonly #known = new Map<string, HostModels>();
  readonly #options: EndpointCatalogOptions;
  readonly #now: () => number;

  constructor(hosts: readonly HostConfig[], options: EndpointCatalogOptions = {}) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.setHosts(hosts);
  }

  /** Follows a reloaded config: new hosts start unread, removed ones are forgotten. */
  setHosts(hosts: readonly HostConfig[]): void {
    this.#hosts.clear();
    for (const host of hosts) this.#hosts.set(host.name, host);
    for (const name of [...this.#known.keys()]) if (!this.#hosts.has(name)) this.#known.delete(name);
    for (const host of hosts) {
      const configured = endpointsOf(host).map((e) => e.model);
      const known = this.#known.get(host.name);
      this.#known.set(host.name, {
        host: host.name,
        listed: known?.listed,
        configured: [...new Set(configured)],
        checkedAt: known?.checkedAt,
        error: known?.error,
      });
    }
  }

  /** Whether `host` serves `model`; false for a host without an endpoint or unknown to the catalog. */
  serves(host: string, model: string): boolean {
    const known = this.#known.get(host);
    if (!known) return false;
    const names = known.listed ?? known.configured;
    return names.some((name) => sameModel(name, model));
  }

  /** Hosts, in the order given, that serve `model`. */
  hostsServing(model: string, hosts: readonly string[]): string[] {
    return hosts.filter((host) => this.serves(host, model));
  }

  models(host: string): HostModels | undefined {
    const known = this.#known.get(host);
    return known ? { ...known } : undefined;
  }

  /**
   * Reads the model lists of the named hosts (default all with an endpoint), in parallel. A host
   * whose read fails keeps its last list and records the error; the call itself never rejects.
   */
  async refresh(hosts?: readonly string[], signal?: AbortSignal): Promise<void> {
    const names = hosts ?? [...this.#hosts.keys()];
    await Promise.all(names.map((name) => this.#refreshHost(name, signal)));
  }

  /** Refreshes the hosts whose list is older than `maxAgeMs` (or never read). */
  async refreshStale(maxAgeMs: number, signal?: AbortSignal): Promise<void> {
    const now = this.#now();
    const stale = [...this.#known.values()]
      .filter((k) => k.checkedAt === undefined || now - k.checkedAt >= maxAgeMs)
      .map((k) => k.host);
    await this.refresh(stale, signal);
  }

  async #refreshHost(name: string, signal?: AbortSignal): Promise<void> {
    const host = this.#hosts.get(name);
    const known = this.#known.get(name);
    if (!host || !known) return;
    const endpoints = endpointsOf(host);
    if (endpoints.length === 0) return;
    const clientFor =
      this.#options.clientFor ??
      ((endpoint: ModelEndpoint) =>
        createModelClient(endpoint, {
          ...this.#options,
          owner: `host ${host.name}`,
          configKey: `hosts.${host.name}.model`,
        }));
    const results = await Promise.allSettled(endpoints.map((e) => clientFor(e, host).listModels({ signal })));
    const listed = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [toError(r.reason).message] : []));
    const anyRead = results.some((r) => r.status === 'fulfilled');
    this.#known.set(name, {
      ...known,
      listed: anyRead ? [...new Set(listed)] : known.listed,
      checkedAt: this.#now(),
      error: failures.length > 0 ? failures.join('; ') : undefined,
    });
  }
}

/** A host's distinct endpoints: its `model` and each per-type one (by URL and api). */
export function endpointsOf(host: HostConfig): ModelEndpoint[] {
  const all = [host.model, ...Object.values(host.typeModels)].filter(
    (e): e is ModelEndpoint => e !== undefined,
  );
  const seen = new Set<string>();
  return all.filter((e) => {
    const key = `${e.api} ${e.url} ${e.apiKeyEnv ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
