/**
 * Every configured host's transport (local or SSH), its health and its latest GPU sample, in
 * one place the loop and the CLI share. Disposing it stops the monitors and closes every
 * connection.
 */
import type { HostConfig } from '../config/types.js';
import type { EventBus } from '../observe/events.js';
import { effectiveSlots } from './gpu.js';
import { GpuSampler, type HostGpus } from './gpu-sampler.js';
import { HealthMonitor, type HostHealth } from './health.js';
import { LocalTransport } from './local.js';
import { localSandboxWrap } from './sandbox-local.js';
import type { PoolOptions } from './ssh/connection-pool.js';
import { SshTransport } from './ssh/transport.js';
import type { Timers } from './timers.js';
import type { Transport } from './transport.js';

/** Makes the transport a host's config asks for. */
export function createTransport(host: HostConfig, sshOptions: PoolOptions = {}): Transport {
  if (host.transport === 'ssh') {
    if (!host.ssh) throw new Error(`host ${host.name} uses transport ssh but has no ssh settings`);
    return new SshTransport(host.name, host.ssh, { ...sshOptions, sandbox: host.sandbox });
  }
  return new LocalTransport(host.name, localSandboxWrap(host.sandbox));
}

export interface HostPoolOptions {
  bus: EventBus;
  timers?: Timers;
  /** GPU sampling interval; 0 turns sampling off (default 10 s). */
  gpuIntervalMs?: number;
  /** Bound on one health probe. */
  probeTimeoutMs?: number;
  ssh?: PoolOptions;
  /**
   * Transports owned by the caller (the loop's runtime), shared instead of opening new ones;
   * `close()` then leaves them open.
   */
  transport?: (host: HostConfig) => Transport;
}

export class HostPool implements AsyncDisposable {
  readonly #hosts: Map<string, HostConfig>;
  readonly #transports = new Map<string, Transport>();
  readonly health: HealthMonitor;
  readonly gpus: GpuSampler;
  readonly #gpuIntervalMs: number;
  readonly #ownsTransports: boolean;
  #closed = false;

  constructor(hosts: readonly HostConfig[], options: HostPoolOptions) {
    this.#hosts = new Map(hosts.map((h) => [h.name, h]));
    this.#ownsTransports = !options.transport;
    for (const host of hosts) {
      this.#transports.set(host.name, options.transport?.(host) ?? createTransport(host, options.ssh));
    }
    this.health = new HealthMonitor(
      hosts.map((h) => ({
        name: h.name,
        intervalMs: h.probeIntervalMs,
        failures: h.probeFailures,
        probe: (signal: AbortSignal) => this.transport(h.name).probe(signal),
      })),
      { bus: options.bus, timers: options.timers, probeTimeoutMs: options.probeTimeoutMs },
    );
    this.#gpuIntervalMs = options.gpuIntervalMs ?? 10_000;
    this.gpus = new GpuSampler(this.#transports, {
      bus: options.bus,
      timers: options.timers,
      intervalMs: this.#gpuIntervalMs || 10_000,
    });
  }

  /** Starts health probes (and GPU sampling unless turned off). */
  start(): void {
    this.health.start();
    if (this.#gpuIntervalMs > 0) this.gpus.start();
  }

  hostNames(): string[] {
    return [...this.#hosts.keys()];
  }

  host(name: string): HostConfig {
    const host = this.#hosts.get(name);
    if (!host) throw new Error(`no host named ${name} in the configuration`);
    return host;
  }

  transport(name: string): Transport {
    const transport = this.#transports.get(name);
    if (!transport) throw new Error(`no host named ${name} in the configuration`);
    return transport;
  }

  hostHealth(name: string): HostHealth | undefined {
    return this.health.health(name);
  }

  gpuSample(name: string): HostGpus | undefined {
    return this.gpus.latest(name);
  }

  /** Slots usable now on `name` for a task needing `vramGb` (see `effectiveSlots`). */
  effectiveSlots(name: string, vramGb: number | undefined, usedSlots = 0): number {
    return effectiveSlots(this.host(name), this.gpus.latest(name)?.gpus, vramGb, usedSlots);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const results = await Promise.allSettled([
      this.health.stop(),
      this.gpus.stop(),
      ...(this.#ownsTransports ? [...this.#transports.values()].map((t) => t.close()) : []),
    ]);
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    if (failures.length > 0) throw new AggregateError(failures, 'closing the host pool failed');
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
