/**
 * Samples each host's GPUs over its own transport on an interval and emits `gpu:sample`.
 * A host found without nvidia-smi is left alone from then on (it simply has no GPU data);
 * a failed sample keeps the last one and is never thrown to the caller.
 */
import type { EventBus } from '../observe/events.js';
import {
  appsQueryArgv,
  type GpuProcess,
  type GpuReading,
  gpuQueryArgv,
  isMissingNvidiaSmi,
  parseComputeApps,
  parseGpuQuery,
} from './gpu.js';
import { realTimers, type Timers } from './timers.js';
import type { Transport } from './transport.js';

export interface HostGpus {
  gpus: GpuReading[];
  processes: GpuProcess[];
  at: number;
}

export interface GpuSamplerOptions {
  bus: EventBus;
  intervalMs?: number;
  timers?: Timers;
  /** Bound on one nvidia-smi call (default 10 s). */
  timeoutMs?: number;
}

export class GpuSampler {
  readonly #latest = new Map<string, HostGpus>();
  readonly #noGpu = new Set<string>();
  readonly #timers: Timers;
  readonly #bus: EventBus;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #timer: unknown;
  #running = false;
  #inFlight: Promise<unknown> | undefined;

  constructor(
    readonly transports: ReadonlyMap<string, Transport>,
    options: GpuSamplerOptions,
  ) {
    this.#bus = options.bus;
    this.#timers = options.timers ?? realTimers;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The host's latest sample; undefined when it has no GPU data (yet, or at all). */
  latest(host: string): HostGpus | undefined {
    return this.#latest.get(host);
  }

  /** Hosts found to have no nvidia-smi. */
  hasNoGpu(host: string): boolean {
    return this.#noGpu.has(host);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    this.#inFlight = this.sampleAll();
    await this.#inFlight;
    if (this.#running) this.#timer = this.#timers.setTimeout(() => void this.#loop(), this.#intervalMs);
  }

  /** Samples every host with GPUs once; resolves when all have answered or failed. */
  async sampleAll(): Promise<void> {
    await Promise.all([...this.transports.keys()].map((host) => this.sample(host)));
  }

  /** Samples one host; resolves with its GPUs, or undefined when it has none or failed. */
  async sample(host: string): Promise<HostGpus | undefined> {
    const transport = this.transports.get(host);
    if (!transport || this.#noGpu.has(host)) return undefined;
    try {
      const query = await transport.exec(gpuQueryArgv(), {
        timeoutMs: this.#timeoutMs,
        maxOutputBytes: 256 * 1024,
      });
      if (isMissingNvidiaSmi(query)) {
        this.#noGpu.add(host);
        this.#latest.delete(host);
        return undefined;
      }
      if (query.code !== 0) return undefined;
      const gpus = parseGpuQuery(query.stdout);
      const apps = await transport.exec(appsQueryArgv(), {
        timeoutMs: this.#timeoutMs,
        maxOutputBytes: 256 * 1024,
      });
      const processes = apps.code === 0 ? parseComputeApps(apps.stdout, gpus) : [];
      const sample: HostGpus = { gpus, processes, at: this.#timers.now() };
      this.#latest.set(host, sample);
      this.#bus.emit('gpu:sample', { host, gpus: gpus.map(({ uuid: _uuid, ...g }) => g) });
      return sample;
    } catch {
      // Unreachable hosts are the health monitor's news; the last sample stands.
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    await this.#inFlight;
  }
}
