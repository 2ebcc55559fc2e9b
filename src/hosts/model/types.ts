/** The model client's contract: one interface over Ollama's API and the OpenAI-compatible API. */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

export interface ChatOptions {
  /** Aborts the request; a timeout of the client aborts it too, naming which one fired. */
  signal?: AbortSignal;
  /** Called with each piece of text as it streams in. */
  onToken?: (token: string) => void;
  /** Model to use instead of the endpoint's configured one (a task's `model:NAME`). */
  model?: string;
}

export interface ChatResult {
  text: string;
  /** The model that answered, as the endpoint named it. */
  model: string;
  /** Prompt tokens, when the endpoint reported them. */
  promptTokens: number | undefined;
  /** Generated tokens, when the endpoint reported them. */
  completionTokens: number | undefined;
  /** Wall-clock time from sending the request to the final record. */
  durationMs: number;
}

export interface ListOptions {
  signal?: AbortSignal;
}

export interface ModelClient {
  readonly api: 'ollama' | 'openai';
  /** The endpoint's base URL, without credentials. */
  readonly url: string;
  /** The configured default model. */
  readonly model: string;
  chat(messages: readonly ChatMessage[], options?: ChatOptions): Promise<ChatResult>;
  /** Names of the models the endpoint serves (`/api/tags` or `/v1/models`). */
  listModels(options?: ListOptions): Promise<string[]>;
}

/** The four limits of one request; 0 or absent turns one off. */
export interface TimeoutLimits {
  /** Until the connection is open and the request sent. */
  connectMs?: number;
  /** From sending the request until the first streamed record (model loading included). */
  firstTokenMs?: number;
  /** Between two streamed records. */
  idleMs?: number;
  /** The whole request. */
  totalMs?: number;
}

export type TimeoutName = 'connect' | 'first-token' | 'idle' | 'total';
