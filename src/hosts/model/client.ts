import type { ModelEndpoint } from '../../config/types.js';
import { NonRetryableError } from '../../errors.js';
import { OllamaClient } from './ollama.js';
import { OpenAiClient } from './openai.js';
import type { EndpointConnection } from './request.js';
import type { ModelClient, TimeoutLimits } from './types.js';

export interface ModelClientOptions {
  /** Where `api_key_env` is looked up (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** The fetch to use (default the global one, Node's undici). */
  fetch?: typeof fetch;
  /** Names the endpoint's owner in errors, e.g. `host surtr`. */
  owner?: string;
  /** The config key of the endpoint, named when a setting is missing (default `model`). */
  configKey?: string;
  /** Bound on listing the models (default 30 s). */
  listTimeoutMs?: number;
}

/**
 * A client for one endpoint, by its `api`. The API key is read from `api_key_env` here, sent as
 * a bearer token, and scrubbed from anything the endpoint sends back; it is never logged.
 */
export function createModelClient(endpoint: ModelEndpoint, options: ModelClientOptions = {}): ModelClient {
  const conn = connectionFor(endpoint, options);
  const limits: TimeoutLimits = {
    connectMs: endpoint.connectTimeoutMs,
    firstTokenMs: endpoint.firstTokenTimeoutMs,
    idleMs: endpoint.idleTimeoutMs,
    totalMs: endpoint.totalTimeoutMs,
  };
  const listLimits: TimeoutLimits = {
    connectMs: endpoint.connectTimeoutMs,
    totalMs: options.listTimeoutMs ?? 30_000,
  };
  return endpoint.api === 'ollama'
    ? new OllamaClient(endpoint, conn, limits, listLimits)
    : new OpenAiClient(endpoint, conn, limits, listLimits);
}

function connectionFor(endpoint: ModelEndpoint, options: ModelClientOptions): EndpointConnection {
  const url = new URL(endpoint.url);
  const secrets: string[] = [];
  const headers: Record<string, string> = {
    accept: 'application/json, text/event-stream, application/x-ndjson',
  };
  // fetch refuses URLs with credentials: move them into a Basic header, out of every message.
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    if (password) secrets.push(password, url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    secrets.push(Buffer.from(`${user}:${password}`).toString('base64'));
    url.username = '';
    url.password = '';
  }
  const baseUrl = url.href.replace(/\/+$/, '');
  const label = `${options.owner ? `${options.owner} ` : ''}model endpoint ${baseUrl} (${endpoint.api})`;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const conn: EndpointConnection = { baseUrl, label, headers, secrets, fetch: fetchImpl };
  if (endpoint.apiKeyEnv) {
    const key = (options.env ?? process.env)[endpoint.apiKeyEnv];
    if (key) {
      headers.authorization = `Bearer ${key}`;
      secrets.push(key);
    } else {
      const setting = `${options.configKey ?? 'model'}.api_key_env`;
      const missing = new NonRetryableError(
        `${label}: environment variable ${endpoint.apiKeyEnv} (named by ${setting}) is not set`,
      );
      conn.fetch = () => Promise.reject(missing);
    }
  }
  return conn;
}
