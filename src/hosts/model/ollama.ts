import type { ModelEndpoint } from '../../config/types.js';
import { ModelEndpointError } from './errors.js';
import { arrayField, asRecord, type JsonRecord, numberField, stringField } from './fields.js';
import { ndjsonRecords } from './records.js';
import { bodyOf, type EndpointConnection, quoteAnswer, withResponse } from './request.js';
import type {
  ChatMessage,
  ChatOptions,
  ChatResult,
  ListOptions,
  ModelClient,
  TimeoutLimits,
} from './types.js';

/** Request fields Ollama takes at the top level; every other option goes under `options`. */
const topLevelKeys = new Set(['keep_alive', 'format', 'think']);

export interface GenerateOptions extends ChatOptions {
  system?: string;
}

/**
 * Ollama's API: `/api/chat` and `/api/generate` stream one JSON object per line, the last with
 * `done: true`, `prompt_eval_count` and `eval_count`; `/api/tags` lists the models.
 */
export class OllamaClient implements ModelClient {
  readonly api = 'ollama';
  readonly url: string;
  readonly model: string;
  readonly #conn: EndpointConnection;
  readonly #limits: TimeoutLimits;
  readonly #listLimits: TimeoutLimits;
  readonly #topLevel: JsonRecord = {};
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
    for (const [key, value] of Object.entries(endpoint.options ?? {})) {
      if (topLevelKeys.has(key)) this.#topLevel[key] = value;
      else this.#options[key] = value;
    }
  }

  chat(messages: readonly ChatMessage[], options: ChatOptions = {}): Promise<ChatResult> {
    return this.#stream('/api/chat', { messages }, options, (r) =>
      stringField(asRecord(r.message), 'content'),
    );
  }

  /** A single prompt through `/api/generate` (no chat template turns). */
  generate(prompt: string, options: GenerateOptions = {}): Promise<ChatResult> {
    const fields: JsonRecord = { prompt };
    if (options.system !== undefined) fields.system = options.system;
    return this.#stream('/api/generate', fields, options, (r) => stringField(r, 'response'));
  }

  async listModels(options: ListOptions = {}): Promise<string[]> {
    const spec = {
      method: 'GET' as const,
      path: '/api/tags',
      limits: this.#listLimits,
      signal: options.signal,
    };
    const body = await withResponse(this.#conn, spec, async (response) => asRecord(await response.json()));
    return arrayField(body, 'models')
      .map((m) => stringField(asRecord(m), 'name') ?? stringField(asRecord(m), 'model'))
      .filter((name): name is string => name !== undefined);
  }

  #stream(
    path: string,
    fields: JsonRecord,
    options: ChatOptions,
    tokenOf: (record: JsonRecord) => string | undefined,
  ): Promise<ChatResult> {
    const model = options.model ?? this.model;
    const body: JsonRecord = { ...this.#topLevel, model, ...fields, stream: true };
    if (Object.keys(this.#options).length > 0) body.options = this.#options;
    const started = performance.now();
    const spec = { method: 'POST' as const, path, body, limits: this.#limits, signal: options.signal };
    return withResponse(this.#conn, spec, async (response, deadlines) => {
      let text = '';
      for await (const value of ndjsonRecords(bodyOf(response, this.#conn.label))) {
        deadlines.activity();
        const record = asRecord(value);
        if (record.error !== undefined) {
          throw new ModelEndpointError(
            `${this.#conn.label} POST ${path}: failed mid-stream: ${quoteAnswer(JSON.stringify(record))}`,
          );
        }
        const token = tokenOf(record);
        if (token) {
          text += token;
          options.onToken?.(token);
        }
        if (record.done === true) {
          return {
            text,
            model: stringField(record, 'model') ?? model,
            promptTokens: numberField(record, 'prompt_eval_count'),
            completionTokens: numberField(record, 'eval_count'),
            durationMs: Math.round(performance.now() - started),
          };
        }
      }
      throw new ModelEndpointError(
        `${this.#conn.label} POST ${path}: the stream ended before its final record (done: true)`,
      );
    });
  }
}
