/**
 * `ctx.llm`: the model endpoint of the host a task was routed to, as handlers use it. Tokens
 * stream to `ctx.progress` in batches (one report per interval), and each renews the lease.
 */
import type { HostConfig, ModelEndpoint } from '../config/types.js';
import { NonRetryableError } from '../errors.js';
import { createModelClient } from '../hosts/model/client.js';
import { modelRequest } from '../hosts/model/model-request.js';
import type { ModelClient } from '../hosts/model/types.js';
import type { Task } from '../store/task.js';
import type { HandlerContext } from './api.js';
import type { Llm } from './llm.js';

export type { ChatMessage, ChatResult } from '../hosts/model/types.js';

export type { Llm, LlmChatOptions, LlmReply } from './llm.js';

/** A handler context that carries `llm`. */
export interface LlmHandlerContext extends HandlerContext {
  llm: Llm;
}

export interface LlmDeps {
  /** The attempt's signal: every call ends with it. */
  signal: AbortSignal;
  progress?: (text: string, fraction?: number) => void;
  heartbeat?: () => void;
  /** The model the task asked for (`model:NAME`), used instead of the endpoint's. */
  model?: string;
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  /** Shortest gap between two progress reports of streamed text (default 250 ms). */
  progressIntervalMs?: number;
  now?: () => number;
  /** Makes the client (default `createModelClient`); for tests and other transports. */
  clientFor?: (endpoint: ModelEndpoint, configKey: string) => ModelClient;
}

/** The endpoint for a type on a host (`models_by_type`), else the host's own `model`. */
export function endpointFor(
  host: HostConfig,
  type: string,
): { endpoint: ModelEndpoint; configKey: string } | undefined {
  const byType = host.typeModels[type];
  if (byType) return { endpoint: byType, configKey: `hosts.${host.name}.models_by_type.${type}` };
  if (host.model) return { endpoint: host.model, configKey: `hosts.${host.name}.model` };
  return undefined;
}

/**
 * Builds `ctx.llm` for a task of `type` on `host`. Throws `NonRetryableError` naming the host
 * and the key to set when the host has no model endpoint.
 */
export function createLlm(host: HostConfig, type: string, deps: LlmDeps): Llm {
  const found = endpointFor(host, type);
  if (!found) {
    throw new NonRetryableError(
      `host ${host.name} has no model endpoint for ${type} tasks: set hosts.${host.name}.model ` +
        '(api, url, model) in hosts.yaml, or route this type to a host that has one',
    );
  }
  const { endpoint, configKey } = found;
  const client =
    deps.clientFor?.(endpoint, configKey) ??
    createModelClient(endpoint, { env: deps.env, fetch: deps.fetch, owner: `host ${host.name}`, configKey });
  const model = deps.model ?? endpoint.model;
  return {
    host: host.name,
    api: endpoint.api,
    model,
    async chat(messages, options = {}) {
      const signal = options.signal ? AbortSignal.any([deps.signal, options.signal]) : deps.signal;
      const stream = new ProgressBatcher(deps, options.onToken);
      try {
        const reply = await client.chat(messages, {
          signal,
          model: options.model ?? model,
          onToken: (token) => stream.push(token),
        });
        return { ...reply, host: host.name, api: endpoint.api };
      } finally {
        stream.flush();
      }
    },
    listModels: (options = {}) =>
      client.listModels({
        signal: options.signal ? AbortSignal.any([deps.signal, options.signal]) : deps.signal,
      }),
  };
}

/**
 * The context's `llm` when the runner provided one, else one built from the context itself (the
 * host, the type, the signal, progress) with the model the task asks for.
 */
export function llmOf(ctx: HandlerContext, task: Pick<Task, 'labels'>, labelPrefix?: string): Llm {
  if (isLlm(ctx.llm)) return ctx.llm;
  return createLlm(ctx.host, ctx.type, {
    signal: ctx.signal,
    progress: (text, fraction) => ctx.progress(text, fraction),
    heartbeat: () => ctx.heartbeat(),
    model: modelRequest(task, labelPrefix),
  });
}

/**
 * Gives `ctx` an `llm` built on first use, for the runner's context extension: tasks that never
 * touch it (shell, simulate) run on hosts without an endpoint; a handler that does gets the
 * `NonRetryableError` naming the key to set.
 */
export function attachLlm(
  ctx: HandlerContext,
  task: Pick<Task, 'labels'>,
  options: { labelPrefix?: string } & Partial<LlmDeps> = {},
): void {
  let built: Llm | undefined;
  Object.defineProperty(ctx, 'llm', {
    configurable: true,
    enumerable: false,
    get: () => {
      const { labelPrefix, ...deps } = options;
      built ??= createLlm(ctx.host, ctx.type, {
        ...deps,
        progress: deps.progress ?? ((text, fraction) => ctx.progress(text, fraction)),
        heartbeat: deps.heartbeat ?? (() => ctx.heartbeat()),
        model: deps.model ?? modelRequest(task, labelPrefix),
        signal: deps.signal ?? ctx.signal,
      });
      return built;
    },
  });
}

function isLlm(value: unknown): value is Llm {
  return typeof value === 'object' && value !== null && typeof (value as Llm).chat === 'function';
}

/** Streamed text to `progress` at most once per interval (the rest at the end), plus a heartbeat. */
class ProgressBatcher {
  readonly #deps: LlmDeps;
  readonly #onToken: ((token: string) => void) | undefined;
  readonly #now: () => number;
  readonly #intervalMs: number;
  #pending = '';
  #last: number;

  constructor(deps: LlmDeps, onToken?: (token: string) => void) {
    this.#deps = deps;
    this.#onToken = onToken;
    this.#now = deps.now ?? Date.now;
    this.#intervalMs = deps.progressIntervalMs ?? 250;
    this.#last = this.#now();
  }

  push(token: string): void {
    this.#onToken?.(token);
    this.#pending += token;
    if (this.#now() - this.#last >= this.#intervalMs) this.flush();
  }

  flush(): void {
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    this.#last = this.#now();
    this.#deps.progress?.(text);
    this.#deps.heartbeat?.();
  }
}
