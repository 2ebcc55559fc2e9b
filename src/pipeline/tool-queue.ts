/**
 * The tool queue: named tools (`tools:` in hosts.yaml) run on hosts with the `tools` role, each
 * host under its own slots. A call puts its input files on the chosen host, runs the filled argv
 * there in the sandbox, and cleans up. A host that fails mid-call (unreachable, transport error)
 * is left for this call and the next tools host is tried; after `maxAttempts` such failures the
 * result is an error the handler sees (`ok: false`). Identical calls (same SHA-256 of name,
 * args and input file contents) within `cacheTtlMs` share one result; concurrent identical calls
 * share one run. A shared run has its own abort signal: a caller whose signal aborts stops
 * waiting (its call rejects) while the others keep waiting, and the run itself is aborted only
 * once every caller waiting on it has aborted.
 */
import { basename } from 'node:path';
import { Sema } from 'async-sema';
import type { SandboxSettings, ToolDefinition } from '../config/types.js';
import { YggError } from '../errors.js';
import type { ExecResult, SandboxRequest, Transport } from '../hosts/transport.js';
import type { EventBus } from '../observe/events.js';
import { fillTemplate, toolCallKey } from './tool-template.js';
import { type ToolOutputSummary, tail } from './trajectory.js';

export interface ToolHost {
  name: string;
  /** Tool calls run at once on this host. */
  slots: number;
  transport: Transport;
  /** Parent of the per-call work directories on the host. */
  workRoot: string;
}

export interface ToolQueueOptions {
  tools: Record<string, ToolDefinition>;
  hosts: readonly ToolHost[];
  /** Default 10 minutes; 0 turns the cache off. */
  cacheTtlMs?: number;
  /** Host failures before the call gives up (default 3). */
  maxAttempts?: number;
  /** Cached results kept at most (default 500). */
  maxCacheEntries?: number;
  /** Health events: a host that is down is not chosen until it is up again. */
  events?: EventBus;
  now?: () => number;
}

export interface ToolCallOptions {
  /** Local files the tool reads (key -> path); put on the tools host, `{key}` is their remote path. */
  files?: Record<string, string>;
  signal?: AbortSignal;
  /** For events and logs. */
  taskId?: string;
}

interface ToolResultBase {
  tool: string;
  /** The call's SHA-256 identity. */
  key: string;
  /** Hosts tried for this call (failures included). */
  attempts: number;
  cached: boolean;
}

/** The tool ran on a host; its exit code says how it went. */
export interface ToolRun extends ToolResultBase, ExecResult {
  ok: true;
  host: string;
}

/** No tools host could run it. */
export interface ToolFailure extends ToolResultBase {
  ok: false;
  error: string;
  hostsTried: string[];
}

export type ToolResult = ToolRun | ToolFailure;

interface CacheEntry {
  result: ToolRun;
  expires: number;
}

/** One run shared by identical concurrent calls: aborted when every waiter has aborted. */
interface SharedRun {
  promise: Promise<ToolResult>;
  controller: AbortController;
  /** Callers still waiting on it (those whose signal aborted are no longer counted). */
  waiting: number;
}

export class ToolQueue {
  readonly #tools: Record<string, ToolDefinition>;
  readonly #hosts: readonly ToolHost[];
  readonly #semas = new Map<string, Sema>();
  readonly #inUse = new Map<string, number>();
  readonly #down = new Set<string>();
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, SharedRun>();
  readonly #ttlMs: number;
  readonly #maxAttempts: number;
  readonly #maxCacheEntries: number;
  readonly #events: EventBus | undefined;
  readonly #now: () => number;
  readonly #unsubscribe: Array<() => void> = [];
  #callSeq = 0;

  constructor(options: ToolQueueOptions) {
    this.#tools = options.tools;
    this.#hosts = options.hosts;
    this.#ttlMs = options.cacheTtlMs ?? 10 * 60_000;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#maxCacheEntries = options.maxCacheEntries ?? 500;
    this.#events = options.events;
    this.#now = options.now ?? Date.now;
    for (const host of options.hosts) {
      this.#semas.set(host.name, new Sema(Math.max(1, host.slots)));
      this.#inUse.set(host.name, 0);
    }
    if (options.events) {
      this.#unsubscribe.push(
        options.events.on('host:down', ({ host }) => this.#down.add(host)),
        options.events.on('host:up', ({ host }) => this.#down.delete(host)),
      );
    }
  }

  /** Tool calls running now on a host. */
  inUse(host: string): number {
    return this.#inUse.get(host) ?? 0;
  }

  /** Run a named tool (or return the cached result of an identical call). */
  async call(
    name: string,
    args: Record<string, string> = {},
    options: ToolCallOptions = {},
  ): Promise<ToolResult> {
    const tool = this.#tools[name];
    if (!tool)
      throw new YggError(`unknown tool ${JSON.stringify(name)}`, {
        hint: `tools configured: ${Object.keys(this.#tools).join(', ') || 'none'} (hosts.yaml \`tools:\`)`,
      });
    const files = { ...tool.files, ...options.files };
    // A template that cannot be filled is the caller's error, not a host's: check before any host.
    const placeholders = Object.fromEntries(Object.keys(files).map((k) => [k, k]));
    fillTemplate(tool.argv, { ...args, ...placeholders, workdir: '' }, `tool ${name}`);
    const key = await toolCallKey(name, tool.argv, args, files);
    const cached = this.#cache.get(key);
    if (cached && cached.expires > this.#now()) {
      this.#emit(options.taskId, name, cached.result.host, true, 0, true);
      return { ...cached.result, cached: true };
    }
    options.signal?.throwIfAborted();
    const running = this.#inflight.get(key);
    if (running) return this.#wait(key, running, options.signal, true);
    const controller = new AbortController();
    const shared: SharedRun = {
      controller,
      waiting: 0,
      promise: this.#run(name, tool, key, args, files, { ...options, signal: controller.signal }).finally(
        () => {
          if (this.#inflight.get(key) === shared) this.#inflight.delete(key);
        },
      ),
    };
    this.#inflight.set(key, shared);
    return this.#wait(key, shared, options.signal, false);
  }

  /**
   * Wait on a shared run under the caller's own signal: its abort rejects this caller only, and
   * aborts the run once no caller is left waiting on it.
   */
  #wait(
    key: string,
    shared: SharedRun,
    signal: AbortSignal | undefined,
    joined: boolean,
  ): Promise<ToolResult> {
    shared.waiting += 1;
    return new Promise<ToolResult>((resolve, reject) => {
      const onAbort = () => {
        shared.waiting -= 1;
        if (shared.waiting === 0) {
          // Nobody wants it any more: stop it, and let a new identical call start afresh.
          if (this.#inflight.get(key) === shared) this.#inflight.delete(key);
          shared.controller.abort(signal?.reason);
        }
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      shared.promise.then(
        (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(joined && r.ok ? { ...r, cached: true } : r);
        },
        (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** Stop listening to health events. */
  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  async #run(
    name: string,
    tool: ToolDefinition,
    key: string,
    args: Record<string, string>,
    files: Record<string, string>,
    options: ToolCallOptions,
  ): Promise<ToolResult> {
    const tried: string[] = [];
    const errors: string[] = [];
    while (tried.length < this.#maxAttempts) {
      const host = this.#pickHost(tried);
      if (!host) break;
      tried.push(host.name);
      const started = this.#now();
      try {
        const result = await this.#runOn(host, name, tool, key, args, files, options.signal);
        const run: ToolRun = {
          ...result,
          // Whole milliseconds: the transport's timer has fractions no reader wants.
          durationMs: Math.round(result.durationMs),
          ok: true,
          tool: name,
          key,
          host: host.name,
          attempts: tried.length,
          cached: false,
        };
        this.#remember(key, run);
        this.#emit(options.taskId, name, host.name, false, this.#now() - started, true);
        return run;
      } catch (error) {
        if (options.signal?.aborted) throw error;
        errors.push(`${host.name}: ${error instanceof Error ? error.message : String(error)}`);
        this.#emit(options.taskId, name, host.name, false, this.#now() - started, false);
      }
    }
    const reason =
      errors.length === 0
        ? `no tools host is up for ${name}`
        : `${name} failed on ${tried.length} tools host(s): ${errors.join('; ')}`;
    return {
      ok: false,
      tool: name,
      key,
      error: reason,
      attempts: tried.length,
      hostsTried: tried,
      cached: false,
    };
  }

  /** An up host not yet tried, least loaded first; a tried one again when none is left. */
  #pickHost(tried: readonly string[]): ToolHost | undefined {
    const up = this.#hosts.filter((h) => !this.#down.has(h.name));
    const untried = up.filter((h) => !tried.includes(h.name));
    const pool = untried.length > 0 ? untried : up;
    let best: ToolHost | undefined;
    for (const host of pool) {
      if (!best || this.inUse(host.name) / host.slots < this.inUse(best.name) / best.slots) best = host;
    }
    return best;
  }

  async #runOn(
    host: ToolHost,
    name: string,
    tool: ToolDefinition,
    key: string,
    args: Record<string, string>,
    files: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<ExecResult> {
    const sema = this.#semas.get(host.name)!;
    await sema.acquire();
    this.#inUse.set(host.name, this.inUse(host.name) + 1);
    try {
      signal?.throwIfAborted();
      const workdir = `${host.workRoot.replace(/\/+$/, '')}/tool-${name.replace(/[^\w-]/g, '_')}-${key.slice(0, 12)}-${process.pid}-${++this.#callSeq}`;
      const t = host.transport;
      await t.exec(['mkdir', '-p', '--', workdir], { signal });
      try {
        const values: Record<string, string> = { ...args, workdir };
        const used = new Set<string>();
        for (const [fileKey, localPath] of Object.entries(files)) {
          let remoteName = basename(localPath);
          if (used.has(remoteName)) remoteName = `${fileKey}-${remoteName}`;
          used.add(remoteName);
          const remotePath = `${workdir}/${remoteName}`;
          await t.put(localPath, remotePath);
          values[fileKey] = remotePath;
        }
        const argv = fillTemplate(tool.argv, values, `tool ${name}`);
        return await t.exec(argv, {
          cwd: workdir,
          signal,
          ...(tool.timeoutMs === undefined ? {} : { timeoutMs: tool.timeoutMs }),
          sandbox: sandboxFor(tool.sandbox, workdir),
        });
      } finally {
        await t.exec(['rm', '-rf', '--', workdir]).catch(() => undefined);
      }
    } finally {
      this.#inUse.set(host.name, this.inUse(host.name) - 1);
      sema.release();
    }
  }

  #remember(key: string, run: ToolRun): void {
    if (this.#ttlMs <= 0) return;
    this.#cache.delete(key);
    this.#cache.set(key, { result: run, expires: this.#now() + this.#ttlMs });
    while (this.#cache.size > this.#maxCacheEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }

  #emit(
    taskId: string | undefined,
    tool: string,
    host: string,
    cached: boolean,
    ms: number,
    ok: boolean,
  ): void {
    this.#events?.emit('tool:called', { taskId: taskId ?? '', tool, host, cached, ms, ok });
  }
}

function sandboxFor(overrides: Partial<SandboxSettings> | undefined, workdir: string): SandboxRequest {
  const request: SandboxRequest = { workdir, network: false };
  if (!overrides) return request;
  const { network, memoryBytes, cpuSeconds, fileSizeBytes, processes, tmpBytes } = overrides;
  return {
    ...request,
    ...(network === undefined ? {} : { network }),
    ...(memoryBytes === undefined ? {} : { memoryBytes }),
    ...(cpuSeconds === undefined ? {} : { cpuSeconds }),
    ...(fileSizeBytes === undefined ? {} : { fileSizeBytes }),
    ...(processes === undefined ? {} : { processes }),
    ...(tmpBytes === undefined ? {} : { tmpBytes }),
  };
}

/** The bounded part of a tool result a trajectory step keeps. */
export function summarizeToolResult(result: ToolResult): ToolOutputSummary {
  if (!result.ok)
    return {
      tool: result.tool,
      ok: false,
      code: null,
      stdoutTail: '',
      stderrTail: '',
      durationMs: 0,
      cached: false,
      error: result.error,
    };
  return {
    tool: result.tool,
    ok: true,
    code: result.code,
    stdoutTail: tail(result.stdout),
    stderrTail: tail(result.stderr),
    durationMs: result.durationMs,
    cached: result.cached,
    host: result.host,
  };
}
