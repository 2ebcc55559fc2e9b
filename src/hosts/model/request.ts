import { randomUUID } from 'node:crypto';
import { NonRetryableError, toError } from '../../errors.js';
import { requestIdHeader, watchConnect } from './connect-watch.js';
import { Deadlines } from './deadlines.js';
import { ModelEndpointError, ModelTimeoutError, parseRetryAfter, redact } from './errors.js';
import type { TimeoutLimits } from './types.js';

/** What a client needs to talk to one endpoint. The key lives only in `headers` and `secrets`. */
export interface EndpointConnection {
  /** Base URL without credentials or a trailing slash. */
  baseUrl: string;
  /** Names the endpoint in errors, e.g. `host surtr model endpoint http://surtr:11434 (ollama)`. */
  label: string;
  headers: Record<string, string>;
  /** Values scrubbed from anything shown: the API key, URL credentials. */
  secrets: string[];
  fetch: typeof fetch;
}

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  limits: TimeoutLimits;
  signal?: AbortSignal;
}

const maxErrorBodyBytes = 8 * 1024;

/** The response body as chunks; a streaming answer without one is the endpoint's fault. */
export function bodyOf(response: Response, where: string): AsyncIterable<Uint8Array> {
  if (!response.body) throw new ModelEndpointError(`${where}: the answer has no body`);
  return response.body;
}

/** `base` + `path`, without doubling a `/v1` the user already put in the base URL. */
export function joinUrl(base: string, path: string): string {
  const trimmed = base.replace(/\/+$/, '');
  if (trimmed.endsWith('/v1') && path.startsWith('/v1/')) return trimmed + path.slice(3);
  return trimmed + path;
}

/**
 * Sends one request under the four timeouts and hands the open response to `consume`, which reads
 * the body and calls `deadlines.activity()` per record. Every failure comes out classified:
 * a timeout, the caller's abort reason, `ModelEndpointError` (retryable) or `NonRetryableError`.
 * The body is cancelled on any failure, which closes the connection.
 */
export async function withResponse<T>(
  conn: EndpointConnection,
  spec: RequestSpec,
  consume: (response: Response, deadlines: Deadlines) => Promise<T>,
): Promise<T> {
  const where = `${conn.label} ${spec.method} ${spec.path}`;
  const deadlines = new Deadlines(spec.limits, where, spec.signal);
  const id = randomUUID();
  const watch = watchConnect(id, () => deadlines.connected());
  let response: Response | undefined;
  try {
    const headers: Record<string, string> = { ...conn.headers, [requestIdHeader]: id };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    const pending = conn.fetch(joinUrl(conn.baseUrl, spec.path), {
      method: spec.method,
      headers,
      body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
      signal: deadlines.signal,
    });
    // A fetch that does not announce its requests: the connect phase cannot be told apart.
    if (!watch.seen) deadlines.connected();
    response = await pending;
    if (!response.ok) throw await statusError(conn, where, response);
    return await consume(response, deadlines);
  } catch (error) {
    await response?.body?.cancel().catch(() => undefined);
    throw classify(conn, where, deadlines, error);
  } finally {
    watch[Symbol.dispose]();
    deadlines[Symbol.dispose]();
  }
}

function classify(conn: EndpointConnection, where: string, deadlines: Deadlines, error: unknown): Error {
  if (deadlines.timedOut) return deadlines.timedOut;
  if (deadlines.cancelled) return toError(deadlines.abortReason());
  if (
    error instanceof ModelEndpointError ||
    error instanceof NonRetryableError ||
    error instanceof ModelTimeoutError
  )
    return error;
  return new ModelEndpointError(`${where}: ${redact(describeFailure(error), conn.secrets)}`);
}

/** `fetch failed (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9)` and the like. */
function describeFailure(error: unknown): string {
  const err = toError(error);
  const cause = err.cause instanceof Error ? err.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (!cause) return err.message;
  return `${err.message} (${typeof code === 'string' ? `${code}: ` : ''}${cause.message})`;
}

async function statusError(conn: EndpointConnection, where: string, response: Response): Promise<Error> {
  const text = redact(await readBounded(response), conn.secrets);
  const message = `${where}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}: ${quoteAnswer(text)}`;
  if (response.status === 429 || response.status >= 500) {
    return new ModelEndpointError(message, {
      status: response.status,
      retryAfterMs: parseRetryAfter(response.headers),
    });
  }
  // The status stays readable (`ygg doctor` tells a refused key from a wrong URL by it).
  return Object.assign(new NonRetryableError(message), { status: response.status });
}

async function readBounded(response: Response): Promise<string> {
  if (!response.body) return '';
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for await (const chunk of response.body) {
    bytes += chunk.byteLength;
    text += decoder.decode(chunk, { stream: true });
    if (bytes >= maxErrorBodyBytes) break;
  }
  return text;
}

/**
 * The endpoint's own words: Ollama's `{"error": "..."}`, OpenAI's `{"error": {"message": ...}}`,
 * FastAPI's `{"detail": ...}`, else the raw text, trimmed.
 */
export function quoteAnswer(text: string): string {
  let said: string = text.trim();
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body.error;
    if (typeof error === 'string') said = error;
    else if (error && typeof error === 'object') {
      const { message, type, code } = error as Record<string, unknown>;
      const tags = [type, code].filter((v) => typeof v === 'string' || typeof v === 'number').join(', ');
      said = `${typeof message === 'string' ? message : JSON.stringify(error)}${tags ? ` (${tags})` : ''}`;
    } else if (body.detail !== undefined) {
      said = typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail);
    } else if (typeof body.message === 'string') said = body.message;
  } catch {
    // Not JSON: quote the text as it came.
  }
  if (said === '') return '(empty answer)';
  return JSON.stringify(said.length > 500 ? `${said.slice(0, 500)}…` : said);
}
