/** What a handler finds as `ctx.llm`: the model endpoint of the host its task was routed to. */
import type { ModelEndpoint } from '../config/types.js';
import type { ChatMessage, ChatResult } from '../hosts/model/types.js';

export interface LlmChatOptions {
  /** Aborts this call only; the task's signal aborts it anyway. */
  signal?: AbortSignal;
  /** Sees every token; `progress` gets them too, batched. */
  onToken?: (token: string) => void;
  /** Model to use instead of the one configured (or asked for by the task). */
  model?: string;
}

export interface LlmReply extends ChatResult {
  host: string;
  api: ModelEndpoint['api'];
}

/** What a handler finds as `ctx.llm`. */
export interface Llm {
  readonly host: string;
  readonly api: ModelEndpoint['api'];
  /** The model calls use unless told otherwise. */
  readonly model: string;
  chat(messages: readonly ChatMessage[], options?: LlmChatOptions): Promise<LlmReply>;
  listModels(options?: { signal?: AbortSignal }): Promise<string[]>;
}
