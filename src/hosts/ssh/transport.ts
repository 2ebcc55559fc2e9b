/**
 * `Transport` over SSH: pooled ssh2 connections, argv quoted by one function, sandboxing as
 * the host's capabilities allow, SFTP for files.
 */
import type { Client } from 'ssh2';
import type { SandboxSettings, SshSettings } from '../../config/types.js';
import { remoteCommandLine } from '../quote.js';
import { probeSandbox, type SandboxCapabilities } from '../sandbox-probe.js';
import { execSandboxed } from '../sandbox-run.js';
import type { ExecOptions, ExecResult, Transport } from '../transport.js';
import { HostUnreachableError } from '../transport.js';
import { ConnectionPool, type PoolOptions } from './connection-pool.js';
import { ChannelRefusedError, execOnChannel } from './exec.js';
import { openSftp, sftpTransfer } from './sftp.js';

export interface SshTransportOptions extends PoolOptions {
  /** Sandbox defaults for `exec(..., { sandbox })`; without them a sandboxed exec is refused. */
  sandbox?: SandboxSettings;
  /** How long a refused channel (sshd's MaxSessions) keeps being retried (default 60 s). */
  channelRetryMs?: number;
}

/** How long `probe` waits when the caller gives no signal. */
const PROBE_TIMEOUT_MS = 10_000;

export class SshTransport implements Transport {
  readonly kind = 'ssh' as const;
  readonly pool: ConnectionPool;
  readonly #sandbox: SandboxSettings | undefined;
  readonly #channelRetryMs: number;
  /** Sandbox capabilities per run-as user, probed once each. */
  readonly #caps = new Map<string, Promise<SandboxCapabilities>>();

  constructor(
    readonly hostName: string,
    readonly ssh: SshSettings,
    options: SshTransportOptions = {},
  ) {
    this.pool = new ConnectionPool(hostName, ssh, options);
    this.#sandbox = options.sandbox;
    this.#channelRetryMs = options.channelRetryMs ?? 60_000;
  }

  /** Runs `fn` on a leased channel, queueing while sshd refuses channels. */
  async #withChannel<T>(fn: (lease: { client: Client }) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const deadline = Date.now() + this.#channelRetryMs;
    for (;;) {
      const lease = await this.pool.acquire(signal);
      try {
        const value = await fn(lease);
        lease.release();
        return value;
      } catch (error) {
        if (error instanceof ChannelRefusedError && Date.now() < deadline) {
          lease.release('open-failed');
          continue;
        }
        lease.release();
        if (error instanceof ChannelRefusedError) {
          throw new HostUnreachableError(
            this.hostName,
            `${this.hostName} kept refusing new channels for ${this.#channelRetryMs} ms (sshd MaxSessions?)`,
          );
        }
        throw error;
      }
    }
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (options.sandbox) {
      if (!this.#sandbox)
        throw new Error(`${this.hostName}: a sandboxed exec needs the host's sandbox settings`);
      const runAs = typeof options.sandbox === 'object' ? options.sandbox.runAs : undefined;
      const caps = await this.sandboxCapabilities(runAs);
      return execSandboxed((a, o) => this.#execRaw(a, o), caps, this.#sandbox, argv, options);
    }
    return this.#execRaw(argv, options);
  }

  #execRaw(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    // Quote first: an unquotable argv (NUL) is the task's fault, not the host's.
    const command = remoteCommandLine(argv, { env: options.env, cwd: options.cwd });
    return this.#withChannel(
      ({ client }) => execOnChannel(client, this.hostName, command, options),
      options.signal,
    );
  }

  /**
   * What the host can do to contain a command run as `runAs` (default the host's `run_as`);
   * probed once per user, again after a failed probe.
   */
  sandboxCapabilities(runAs = this.#sandbox?.runAs ?? 'nobody'): Promise<SandboxCapabilities> {
    let caps = this.#caps.get(runAs);
    if (!caps) {
      caps = probeSandbox((argv) => this.#execRaw(argv, { timeoutMs: 30_000 }), runAs);
      this.#caps.set(runAs, caps);
      const probe = caps;
      probe.catch(() => {
        if (this.#caps.get(runAs) === probe) this.#caps.delete(runAs);
      });
    }
    return caps;
  }

  put(localPath: string, remotePath: string): Promise<void> {
    return this.#withChannel(async ({ client }) =>
      sftpTransfer(await openSftp(client, this.hostName), 'put', localPath, remotePath),
    );
  }

  get(remotePath: string, localPath: string): Promise<void> {
    return this.#withChannel(async ({ client }) =>
      sftpTransfer(await openSftp(client, this.hostName), 'get', localPath, remotePath),
    );
  }

  async probe(signal?: AbortSignal): Promise<{ latencyMs: number }> {
    const bound = signal ?? AbortSignal.timeout(PROBE_TIMEOUT_MS);
    const started = performance.now();
    let result: ExecResult;
    try {
      result = await this.#execRaw(['true'], { signal: bound });
    } catch (error) {
      if (error instanceof HostUnreachableError) throw error;
      throw new HostUnreachableError(
        this.hostName,
        `${this.hostName}: probe failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (result.code !== 0) {
      const why = result.limit === 'cancelled' ? 'timed out' : `exit ${result.code ?? result.signal}`;
      throw new HostUnreachableError(this.hostName, `${this.hostName}: probe command failed (${why})`);
    }
    return { latencyMs: performance.now() - started };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
