import type { ModelEndpoint } from '../../config/types.js';
import { ModelEndpointError } from './errors.js';
import { arrayField, asRecord, type JsonRecord, numberField, stringField } from './fields.js';
import { sseData } from './records.js';
import { bodyOf, type EndpointConnection, quoteAnswer, withResponse } from './request.js';
import type {
  ChatMessage,
  ChatOptions,
  ChatResult,
  ListOptions,
  ModelClient,
  TimeoutLimits,
} from './types.js';

/** Fields the client sets itself; endpoint options cannot override them. */
const ownKeys = new Set(['model', 'messages', 'stream', 'stream_options']);

/**
 * The OpenAI-compatible API (llama.cpp's server, vLLM, LM Studio): `/v1/chat/completions` with
 * `stream: true` sends server-sent events of `chat.completion.chunk` objects, a usage chunk when
 * `stream_options.include_usage` is set, and `data: [DONE]`; `/v1/models` lists the models.
 */
export class OpenAiClient implements ModelClient {
  readonly api = 'openai';
  readonly url: string;
  readonly model: string;
  readonly #conn: EndpointConnection;
  readonly #limits: TimeoutLimits;
  readonly #listLimits: TimeoutLimits;
  readonly #options: JsonRecord = {};

  constructor(
    endpoint: ModelEndpoint,
    conn: EndpointConnection,
    limits: TimeoutLimits,
    listLimits: TimeoutLimits,
  ) {
    this.url = conn.baseUrl;
    this.model = endpoint.model;
    this.#conn = conn;
    this.#limits = limits;
    this.#listLimits = listLimits;
    for (const [key, value] of Object.entries(endpoint.options ?? {}))
      if (!ownKeys.has(key)) this.#options[key] = value;
  }

  chat(messages: readonly ChatMessage[], options: ChatOptions = {}): Promise<ChatResult> {
    const model = options.model ?? this.model;
    const path = '/v1/chat/completions';
    const body = {
      ...this.#options,
      model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    };
    const started = performance.now();
    const spec = { method: 'POST' as const, path, body, limits: this.#limits, signal: options.signal };
    return withResponse(this.#conn, spec, async (response, deadlines) => {
      let text = '';
      let answered = model;
      let promptTokens: number | undefined;
      let completionTokens: number | undefined;
      let finished = false;
      const result = (): ChatResult => ({
        text,
        model: answered,
        promptTokens,
        completionTokens,
        durationMs: Math.round(performance.now() - started),
      });
      for await (const data of sseData(bodyOf(response, this.#conn.label))) {
        deadlines.activity();
        if (data.trim() === '[DONE]') return result();
        const chunk = asRecord(parseChunk(data, this.#conn.label));
        if (chunk.error !== undefined) {
          throw new ModelEndpointError(
            `${this.#conn.label} POST ${path}: failed mid-stream: ${quoteAnswer(data)}`,
          );
        }
        answered = stringField(chunk, 'model') ?? answered;
        for (const choice of arrayField(chunk, 'choices')) {
          const token = stringField(asRecord(asRecord(choice).delta), 'content');
          if (token) {
            text += token;
            options.onToken?.(token);
          }
          if (typeof asRecord(choice).finish_reason === 'string') finished = true;
        }
        const usage = asRecord(chunk.usage);
        promptTokens = numberField(usage, 'prompt_tokens') ?? promptTokens;
        completionTokens = numberField(usage, 'completion_tokens') ?? completionTokens;
      }
      // Some servers close without `[DONE]`; a stream that reached a finish_reason is complete.
      if (finished) return result();
      throw new ModelEndpointError(`${this.#conn.label} POST ${path}: the stream ended before data: [DONE]`);
    });
  }

  async listModels(options: ListOptions = {}): Promise<string[]> {
    const spec = {
      method: 'GET' as const,
      path: '/v1/models',
      limits: this.#listLimits,
      signal: options.signal,
    };
    const body = await withResponse(this.#conn, spec, async (response) => asRecord(await response.json()));
    return arrayField(body, 'data')
      .map((m) => stringField(asRecord(m), 'id'))
      .filter((id): id is string => id !== undefined);
  }
}

function parseChunk(data: string, label: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    throw new ModelEndpointError(`${label}: unreadable stream event: ${data.slice(0, 200)}`);
  }
}
