/** The result of a model handler: a bounded summary, the whole answer as a file when long, metadata. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HandlerResult } from '../../src/plugins/api.js';
import type { LlmReply } from '../../src/plugins/llm-context.js';
import { uniqueName } from './code-blocks.js';

/** Characters of the answer kept in the result comment. */
export const maxSummaryChars = 4000;

export interface ResultInput {
  handler: string;
  reply: LlmReply;
  artifactsDir: string;
  /** Files already written (relative to artifactsDir), and the names they took. */
  artifacts: string[];
  used: Set<string>;
  /** Lines put before the answer (what was saved, how many findings). */
  header: string[];
  findings?: string[];
}

export async function shapeResult(input: ResultInput): Promise<HandlerResult> {
  const { reply } = input;
  const artifacts = [...input.artifacts];
  let body = reply.text.trim();
  if (body.length > maxSummaryChars) {
    const name = uniqueName('response.md', input.used);
    await writeFile(
      join(input.artifactsDir, name),
      reply.text.endsWith('\n') ? reply.text : `${reply.text}\n`,
    );
    artifacts.push(name);
    body = `${body.slice(0, maxSummaryChars).trimEnd()}\n\n… (cut at ${maxSummaryChars} of ${reply.text.length} characters; the whole answer is in ${name})`;
  }
  const metadata: Record<string, unknown> = {
    handler: input.handler,
    model: reply.model,
    host: reply.host,
    api: reply.api,
    prompt_tokens: reply.promptTokens ?? null,
    completion_tokens: reply.completionTokens ?? null,
    duration_ms: reply.durationMs,
  };
  if (reply.completionTokens !== undefined && reply.durationMs > 0) {
    metadata.tokens_per_second = Math.round((reply.completionTokens / reply.durationMs) * 10_000) / 10;
  }
  if (artifacts.length > 0) metadata.artifacts = artifacts;
  if (input.findings) metadata.findings = input.findings;
  const summary = [...input.header, body].filter((part) => part !== '').join('\n\n');
  return { summary, artifacts, metadata };
}
