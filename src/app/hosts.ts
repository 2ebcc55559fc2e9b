/**
 * What the loop learns about its hosts while it runs: health probes (a `down` host takes no new
 * work), GPU samples (free memory shrinks the slots a `vram_gb` type may use) and the models
 * each endpoint serves (a task asking for a model goes only where it is served). Follows a
 * reloaded hosts.yaml.
 */
import type { HostConfig, YggConfig } from '../config/types.js';
import { EndpointCatalog } from '../hosts/model/catalog.js';
import { modelRequest } from '../hosts/model/model-request.js';
import { HostPool } from '../hosts/pool.js';
import type { Transport } from '../hosts/transport.js';
import type { EventBus } from '../observe/events.js';
import type { Task } from '../store/task.js';

/** How often the endpoints' model lists are read again. */
const modelListMaxAgeMs = 60_000;
/** How long the loop's start waits for the first read of the model lists. */
const firstModelListWaitMs = 3_000;

export class LoopHosts implements AsyncDisposable {
  readonly #bus: EventBus;
  readonly #transport: (host: HostConfig) => Transport;
  readonly #catalog: EndpointCatalog;
  readonly #refresh: NodeJS.Timeout;
  #pool: HostPool;
  #hostsKey: string;
  #labelPrefix: string;
  #firstRead: Promise<void>;
  readonly #offUnreachable: () => void;
  /** Called when what the hosts serve may have changed (a model list was read). */
  onChange: () => void = () => {};

  constructor(config: YggConfig, bus: EventBus, transport: (host: HostConfig) => Transport) {
    this.#bus = bus;
    this.#transport = transport;
    this.#hostsKey = JSON.stringify(config.hosts);
    this.#labelPrefix = config.queue.modelLabelPrefix;
    this.#pool = this.#openPool(config.hosts);
    this.#catalog = new EndpointCatalog(config.hosts);
    this.#firstRead = this.#readModels();
    this.#refresh = setInterval(() => void this.#readModels(modelListMaxAgeMs), modelListMaxAgeMs);
    this.#refresh.unref();
    // An attempt that could not reach its host: probe it now, so it is marked down in seconds.
    this.#offUnreachable = bus.on('host:unreachable', ({ host }) => {
      if (this.#pool.hostNames().includes(host)) void this.#pool.health.probeNow(host);
    });
  }

  /**
   * Resolves once every host was probed and the endpoints' model lists were read (or after a
   * few seconds), so no task goes to a host that does not answer, and a task that asks for a
   * listed model is not reported unroutable, while the first round is on its way.
   */
  async ready(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, firstModelListWaitMs);
    });
    const probed = Promise.all(this.#pool.hostNames().map((name) => this.#pool.health.probeNow(name)));
    await Promise.race([Promise.all([this.#firstRead, probed]), bound]);
    clearTimeout(timer);
  }

  async #readModels(staleAfterMs?: number): Promise<void> {
    if (staleAfterMs === undefined) await this.#catalog.refresh();
    else await this.#catalog.refreshStale(staleAfterMs);
    this.onChange();
  }

  /** A host is up unless its probes have marked it down (unprobed hosts count as up). */
  hostUp(name: string): boolean {
    return this.#pool.hostHealth(name)?.state !== 'down';
  }

  /** Slots `name` can use now for a task needing `vramGb`, from its latest GPU sample. */
  usableSlots(name: string, vramGb: number | undefined, used: number): number {
    const host = this.#pool.hostNames().includes(name) ? name : undefined;
    return host ? this.#pool.effectiveSlots(host, vramGb, used) : Number.POSITIVE_INFINITY;
  }

  /** Whether each of these GPUs has `vramGb` free in the latest sample (unknown counts as yes). */
  gpuFits(name: string, gpus: readonly number[], vramGb: number): boolean {
    const sample = this.#pool.hostNames().includes(name) ? this.#pool.gpuSample(name) : undefined;
    if (!sample) return true;
    const need = vramGb * 2 ** 30;
    return gpus.every((index) => {
      const free = sample.gpus.find((g) => g.index === index)?.memoryFreeBytes;
      return free === undefined || free >= need;
    });
  }

  /** Why `host` cannot take `task` (it asks for a model the host does not serve), if it cannot. */
  refusal(host: string, task: Task): string | undefined {
    const model = modelRequest(task, this.#labelPrefix);
    if (!model || this.#catalog.serves(host, model)) return undefined;
    return `${host} does not serve model ${model}`;
  }

  /** A reloaded hosts.yaml: probes and samplers start over for the new host list. */
  reconfigure(config: YggConfig): void {
    this.#labelPrefix = config.queue.modelLabelPrefix;
    const key = JSON.stringify(config.hosts);
    if (key === this.#hostsKey) return;
    this.#hostsKey = key;
    const previous = this.#pool;
    this.#pool = this.#openPool(config.hosts);
    void previous.close().catch(() => undefined);
    this.#catalog.setHosts(config.hosts);
    void this.#readModels();
  }

  #openPool(hosts: readonly HostConfig[]): HostPool {
    const pool = new HostPool(hosts, { bus: this.#bus, transport: this.#transport });
    pool.start();
    return pool;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.#refresh);
    this.#offUnreachable();
    await this.#pool.close();
  }
}
