/**
 * A model server for tests, on 127.0.0.1 at a random port, speaking both wire formats as their
 * servers document them: Ollama (`/api/chat`, `/api/generate` as NDJSON ending in a `done: true`
 * record with eval counts; `/api/tags`; errors `{"error": "..."}`) and the OpenAI-compatible API
 * (`/v1/chat/completions` as server-sent `chat.completion.chunk` events, a usage chunk,
 * `data: [DONE]`; `/v1/models`; errors `{"error": {"message", "type", "code"}}`).
 * Replies are scripted per request; requests and open sockets are recorded.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { ModelEndpoint } from '../../src/config/types.js';

export type WireApi = 'ollama' | 'openai';

export interface ModelReply {
  /** The answer, streamed as these pieces. */
  tokens?: string[];
  /** The answer, streamed word by word (used when `tokens` is absent). */
  text?: string;
  /** Name the answer gives as its model (default: the model asked for). */
  model?: string;
  promptTokens?: number;
  completionTokens?: number;
  /** Answer with this HTTP status and the format's error body instead of a stream. */
  status?: number;
  errorMessage?: string;
  /** A `Retry-After` header value (with a 429 or 503). */
  retryAfter?: string;
  /** Put the request's Authorization header into the error body (an endpoint echoing the key). */
  echoAuthorization?: boolean;
  /** Wait this long before the first record. */
  firstTokenDelayMs?: number;
  /** Never send the first record: hold until the client goes away. */
  holdFirstToken?: boolean;
  /** After this many tokens, send nothing more and keep the connection open. */
  stallAfter?: number;
  /** After this many tokens, destroy the connection. */
  disconnectAfter?: number;
  /** Between tokens (default 0). */
  tokenDelayMs?: number;
  /** Leave the final record out (Ollama's `done: true`, OpenAI's finish, usage and `[DONE]`). */
  omitFinal?: boolean;
  /** Send an error record in the stream after this many tokens. */
  errorAfter?: number;
}

export interface RecordedRequest {
  api: WireApi | 'unknown';
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface ModelServerOptions {
  /** Models listed and accepted (default `['llama3:latest']`). */
  models?: string[];
  /** When set, every request must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Reject a model that is not in `models` with the format's 404 (default true). */
  strictModels?: boolean;
}

export interface ModelServer extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** Served models; tests may change it. */
  models: string[];
  readonly requests: RecordedRequest[];
  /** Replies for the next generation requests, in order; then the default reply. */
  enqueue(...replies: ModelReply[]): void;
  /** The reply when nothing is queued; a function sees the request. */
  setDefault(reply: ModelReply | ((request: RecordedRequest) => ModelReply)): void;
  /** Replies for the next model-list requests (only `status`, `errorMessage`, `holdFirstToken` apply). */
  enqueueList(...replies: ModelReply[]): void;
  openSockets(): number;
  /** Resolves when exactly `count` sockets are open; rejects after `timeoutMs`. */
  waitForOpenSockets(count: number, timeoutMs?: number): Promise<void>;
  /**
   * Resolves when the connection that carried `request` is closed. (After an abort, Node's
   * undici may open one more, idle connection that it closes a few seconds later; see
   * nodejs/undici#5845. This waits for the request's own connection only.)
   */
  waitForConnectionClosed(request: RecordedRequest, timeoutMs?: number): Promise<void>;
  /** Resolves when at least `count` requests have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A `ModelEndpoint` pointing at a test server, with generous limits unless overridden. */
export function endpointOf(
  server: Pick<ModelServer, 'url' | 'models'>,
  api: WireApi,
  overrides: Partial<ModelEndpoint> = {},
): ModelEndpoint {
  return {
    api,
    url: server.url,
    model: server.models[0] ?? 'llama3:latest',
    connectTimeoutMs: 10_000,
    firstTokenTimeoutMs: 20_000,
    idleTimeoutMs: 20_000,
    totalTimeoutMs: 40_000,
    ...overrides,
  };
}

const defaultReply: ModelReply = { text: 'Hello from the test model.' };

export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const sockets = new Set<Socket>();
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const requests: RecordedRequest[] = [];
  const socketOf = new WeakMap<RecordedRequest, Socket>();
  const queue: ModelReply[] = [];
  const listQueue: ModelReply[] = [];
  let fallback: ModelReply | ((request: RecordedRequest) => ModelReply) = defaultReply;
  const state = { models: options.models ?? ['llama3:latest'] };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    changes.emit('change');
    socket.on('close', () => {
      sockets.delete(socket);
      changes.emit('change');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const api: RecordedRequest['api'] = path.startsWith('/api/')
      ? 'ollama'
      : path.startsWith('/v1/')
        ? 'openai'
        : 'unknown';
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      // Kept as text.
    }
    const request: RecordedRequest = { api, method: req.method ?? 'GET', path, headers: req.headers, body };
    requests.push(request);
    socketOf.set(request, req.socket);
    changes.emit('change');
    const wire: WireApi = api === 'openai' ? 'openai' : 'ollama';

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(res, wire, { status: 401, errorMessage: 'Invalid API key' }, request);
    }
    const route = `${req.method} ${path}`;
    if (route === 'GET /api/tags' || route === 'GET /v1/models') {
      const reply = listQueue.shift();
      if (reply?.holdFirstToken) return holdUntilClosed(res);
      if (reply?.status) return sendError(res, wire, reply, request);
      return sendJson(res, 200, wire === 'ollama' ? tagsBody(state.models) : modelsBody(state.models));
    }
    if (
      route !== 'POST /api/chat' &&
      route !== 'POST /api/generate' &&
      route !== 'POST /v1/chat/completions'
    ) {
      return sendError(res, wire, { status: 404, errorMessage: `404 page not found: ${route}` }, request);
    }
    const reply = queue.shift() ?? (typeof fallback === 'function' ? fallback(request) : fallback);
    if (reply.status) return sendError(res, wire, reply, request);
    const asked = String((body as { model?: unknown } | undefined)?.model ?? '');
    if (options.strictModels !== false && !serves(state.models, asked)) {
      const message =
        wire === 'ollama'
          ? `model "${asked}" not found, try pulling it first`
          : `The model \`${asked}\` does not exist.`;
      return sendError(res, wire, { status: 404, errorMessage: message }, request);
    }
    const stream =
      wire === 'ollama' ? ollamaStream(path, asked, body, reply) : openaiStream(asked, body, reply);
    await sendStream(res, wire, stream, reply);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  function waitFor(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        changes.off('change', check);
        resolve();
      };
      const timer = setTimeout(() => {
        changes.off('change', check);
        const now = `open sockets ${sockets.size}, requests ${requests.length}`;
        reject(new Error(`model server: no ${what} after ${timeoutMs} ms (${now})`));
      }, timeoutMs);
      changes.on('change', check);
    });
  }

  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get models() {
      return state.models;
    },
    set models(value: string[]) {
      state.models = value;
    },
    requests,
    enqueue: (...replies) => void queue.push(...replies),
    setDefault: (reply) => {
      fallback = reply;
    },
    enqueueList: (...replies) => void listQueue.push(...replies),
    openSockets: () => sockets.size,
    waitForOpenSockets: (count, timeoutMs = 10_000) =>
      waitFor(() => sockets.size === count, `${count} open sockets`, timeoutMs),
    waitForConnectionClosed: (request, timeoutMs = 10_000) => {
      const socket = socketOf.get(request);
      return waitFor(
        () => socket === undefined || !sockets.has(socket),
        'close of the request connection',
        timeoutMs,
      );
    },
    waitForRequests: (count, timeoutMs = 10_000) =>
      waitFor(() => requests.length >= count, `${count} requests`, timeoutMs),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Ollama's rule: a name without a tag means `:latest`. */
function serves(models: readonly string[], asked: string): boolean {
  const full = asked.includes(':') ? asked : `${asked}:latest`;
  return models.includes(asked) || models.includes(full);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, wire: WireApi, reply: ModelReply, request: RecordedRequest): void {
  const status = reply.status ?? 500;
  let message = reply.errorMessage ?? defaultErrorMessage(status);
  if (reply.echoAuthorization) message += ` (got authorization: ${request.headers.authorization ?? 'none'})`;
  const headers: Record<string, string> = {};
  if (reply.retryAfter !== undefined) headers['retry-after'] = reply.retryAfter;
  const body =
    wire === 'ollama'
      ? { error: message }
      : { error: { message, type: openaiErrorType(status), param: null, code: openaiErrorCode(status) } };
  sendJson(res, status, body, headers);
}

function defaultErrorMessage(status: number): string {
  if (status === 429) return 'Rate limit reached, please try again later';
  if (status === 400) return 'invalid request: messages must not be empty';
  if (status >= 500) return 'llama runner process has terminated: exit status 2';
  return `error ${status}`;
}

function openaiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function openaiErrorCode(status: number): string | null {
  if (status === 401) return 'invalid_api_key';
  if (status === 404) return 'model_not_found';
  if (status === 429) return 'rate_limit_exceeded';
  return null;
}

function tagsBody(models: readonly string[]): unknown {
  return {
    models: models.map((name) => ({
      name,
      model: name,
      modified_at: '2025-05-01T10:00:00.000000000Z',
      size: 4_661_224_676,
      digest: 'sha256:365c0bd3c000a25d28ddbf732fe1c6add414de7275464c4e4d1c3b5fcb5d8ad1',
      details: {
        parent_model: '',
        format: 'gguf',
        family: 'llama',
        families: ['llama'],
        parameter_size: '8.0B',
        quantization_level: 'Q4_0',
      },
    })),
  };
}

function modelsBody(models: readonly string[]): unknown {
  return {
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created: 1_714_000_000, owned_by: 'ygg-test' })),
  };
}

function tokensOf(reply: ModelReply): string[] {
  if (reply.tokens) return reply.tokens;
  const text = reply.text ?? '';
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function promptWords(body: unknown): number {
  const b = (body ?? {}) as { messages?: { content?: unknown }[]; prompt?: unknown; system?: unknown };
  const texts = [
    ...(b.messages ?? []).map((m) => String(m.content ?? '')),
    String(b.prompt ?? ''),
    String(b.system ?? ''),
  ];
  return texts.join(' ').split(/\s+/).filter(Boolean).length;
}

/** One step of a stream: a record to send, or a switch to act on before the next one. */
type Step = { record: string } | { token: string; record: string } | { final: string };

function* ollamaStream(path: string, model: string, body: unknown, reply: ModelReply): Generator<Step> {
  const answered = reply.model ?? model;
  const generate = path === '/api/generate';
  const created = () => new Date().toISOString();
  const tokens = tokensOf(reply);
  for (const token of tokens) {
    const record = generate
      ? { model: answered, created_at: created(), response: token, done: false }
      : {
          model: answered,
          created_at: created(),
          message: { role: 'assistant', content: token },
          done: false,
        };
    yield { token, record: `${JSON.stringify(record)}\n` };
  }
  const counts = {
    total_duration: 5_191_566_416,
    load_duration: 2_154_458,
    prompt_eval_count: reply.promptTokens ?? promptWords(body),
    prompt_eval_duration: 383_809_000,
    eval_count: reply.completionTokens ?? tokens.length,
    eval_duration: 4_799_921_000,
  };
  const last = generate
    ? {
        model: answered,
        created_at: created(),
        response: '',
        done: true,
        done_reason: 'stop',
        context: [1, 2, 3],
        ...counts,
      }
    : {
        model: answered,
        created_at: created(),
        message: { role: 'assistant', content: '' },
        done_reason: 'stop',
        done: true,
        ...counts,
      };
  yield { final: `${JSON.stringify(last)}\n` };
}

function* openaiStream(model: string, body: unknown, reply: ModelReply): Generator<Step> {
  const answered = reply.model ?? model;
  const id = `chatcmpl-${Math.random().toString(36).slice(2, 12)}`;
  const created = Math.floor(Date.now() / 1000);
  const wantsUsage =
    (body as { stream_options?: { include_usage?: unknown } } | undefined)?.stream_options?.include_usage ===
    true;
  const chunk = (choices: unknown[], usage?: unknown) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model: answered,
      system_fingerprint: 'fp_ygg_test',
      choices,
      ...(wantsUsage ? { usage: usage ?? null } : {}),
    })}\n\n`;
  const tokens = tokensOf(reply);
  yield {
    record: chunk([
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
    ]),
  };
  for (const token of tokens) {
    yield {
      token,
      record: chunk([{ index: 0, delta: { content: token }, logprobs: null, finish_reason: null }]),
    };
  }
  let final = chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
  if (wantsUsage) {
    const promptTokens = reply.promptTokens ?? promptWords(body);
    const completionTokens = reply.completionTokens ?? tokens.length;
    final += chunk([], {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    });
  }
  yield { final: `${final}data: [DONE]\n\n` };
}

async function sendStream(
  res: ServerResponse,
  wire: WireApi,
  steps: Generator<Step>,
  reply: ModelReply,
): Promise<void> {
  const closed = new AbortController();
  res.on('close', () => closed.abort());
  res.writeHead(200, {
    'content-type': wire === 'ollama' ? 'application/x-ndjson' : 'text/event-stream',
    ...(wire === 'openai' ? { 'cache-control': 'no-cache' } : {}),
  });
  // OpenAI-compatible servers answer at once; Ollama's headers go out with its first record.
  if (wire === 'openai') res.flushHeaders();
  const wait = async (ms: number) => delay(ms, undefined, { signal: closed.signal }).catch(() => undefined);
  if (reply.holdFirstToken) return holdUntilClosed(res);
  if (reply.firstTokenDelayMs) await wait(reply.firstTokenDelayMs);
  let sent = 0;
  for (const step of steps) {
    if (closed.signal.aborted) return;
    if ('token' in step) {
      if (reply.stallAfter !== undefined && sent >= reply.stallAfter) return holdUntilClosed(res);
      if (reply.disconnectAfter !== undefined && sent >= reply.disconnectAfter) {
        disconnect(res);
        return;
      }
      if (reply.errorAfter !== undefined && sent >= reply.errorAfter) {
        res.end(errorRecord(wire));
        return;
      }
      if (sent > 0 && reply.tokenDelayMs) await wait(reply.tokenDelayMs);
      sent += 1;
      res.write(step.record);
    } else if ('final' in step) {
      if (reply.stallAfter !== undefined && sent >= reply.stallAfter) return holdUntilClosed(res);
      if (reply.disconnectAfter !== undefined && sent >= reply.disconnectAfter) {
        disconnect(res);
        return;
      }
      if (reply.omitFinal) {
        res.end();
        return;
      }
      res.end(step.final);
      return;
    } else res.write(step.record);
  }
}

/** Cut the connection mid-response: what was written goes out, then FIN, no final chunk. */
function disconnect(res: ServerResponse): void {
  res.socket?.end();
}

function errorRecord(wire: WireApi): string {
  const message = 'llama runner process has terminated: signal: killed';
  return wire === 'ollama'
    ? `${JSON.stringify({ error: message })}\n`
    : `data: ${JSON.stringify({ error: { message, type: 'server_error', code: null } })}\n\n`;
}

/**
 * Send nothing more; the response ends when the client goes away (or the server closes). Headers
 * not yet sent stay unsent, as with Ollama while it loads a model.
 */
function holdUntilClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => res.on('close', () => resolve()));
}
