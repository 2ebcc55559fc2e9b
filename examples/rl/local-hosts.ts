/**
 * Transports for the example's `transport: local` hosts, sandboxed as ygg sandboxes any host's
 * commands (bubblewrap, limits, an unprivileged user), through the local transport's raw exec.
 */
import type { HostConfig } from '../../src/config/types.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { execSandboxed, probeSandbox, type SandboxCapabilities } from '../../src/hosts/sandbox.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/hosts/transport.js';

export class SandboxedLocalTransport implements Transport {
  readonly kind = 'local' as const;
  readonly hostName: string;
  readonly #host: HostConfig;
  readonly #raw: LocalTransport;
  #caps: Promise<SandboxCapabilities> | undefined;

  constructor(host: HostConfig) {
    this.hostName = host.name;
    this.#host = host;
    this.#raw = new LocalTransport(host.name);
  }

  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (!options.sandbox) return this.#raw.exec(argv, options);
    return this.#sandboxed(argv, options);
  }

  async #sandboxed(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    this.#caps ??= probeSandbox((a) => this.#raw.exec(a), this.#host.sandbox.runAs ?? 'nobody');
    const caps = await this.#caps;
    return execSandboxed((a, o) => this.#raw.exec(a, o), caps, this.#host.sandbox, argv, options);
  }

  put(localPath: string, remotePath: string): Promise<void> {
    return this.#raw.put(localPath, remotePath);
  }

  get(remotePath: string, localPath: string): Promise<void> {
    return this.#raw.get(remotePath, localPath);
  }

  probe(): Promise<{ latencyMs: number }> {
    return this.#raw.probe();
  }

  close(): Promise<void> {
    return this.#raw.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** One transport per configured host, made on first use. */
export function localTransports(hosts: readonly HostConfig[]): (name: string) => Transport {
  const made = new Map<string, Transport>();
  return (name) => {
    let transport = made.get(name);
    if (!transport) {
      const host = hosts.find((h) => h.name === name);
      if (!host) throw new Error(`no host named ${name}`);
      transport = new SandboxedLocalTransport(host);
      made.set(name, transport);
    }
    return transport;
  };
}
