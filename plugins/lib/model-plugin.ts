/** One factory for the built-in model handlers: prompt, stream through `ctx.llm`, save, shape. */
import type { HandlerContext, HandlerResult, Plugin } from '../../src/plugins/api.js';
import { llmOf } from '../../src/plugins/llm-context.js';
import type { Task } from '../../src/store/task.js';
import { extractCodeBlocks, saveCodeBlocks } from './code-blocks.js';
import { extractFindings } from './findings.js';
import { buildMessages, type PromptFamily } from './prompt.js';
import { shapeResult } from './result.js';

export interface ModelPluginSpec {
  name: string;
  types: string[];
  family: PromptFamily;
  /** Save every fenced code block of the answer as a file. */
  saveCode?: boolean;
  /** Read review findings into the result. */
  findings?: boolean;
}

export function modelPlugin(spec: ModelPluginSpec): Plugin {
  return {
    name: spec.name,
    types: spec.types,
    needsModel: true,
    run: (task, ctx) => runModelTask(spec, task, ctx),
  };
}

export async function runModelTask(
  spec: ModelPluginSpec,
  task: Task,
  ctx: HandlerContext,
): Promise<HandlerResult> {
  const llm = llmOf(ctx, task);
  ctx.progress(`asking ${llm.model} on ${llm.host}`);
  const reply = await llm.chat(buildMessages(task, spec.family));
  if (reply.text.trim() === '') {
    throw new Error(
      `${llm.model} on ${llm.host} answered with no text (${reply.completionTokens ?? 0} tokens)`,
    );
  }
  const used = new Set<string>();
  const header: string[] = [];
  let artifacts: string[] = [];
  if (spec.saveCode) {
    const blocks = extractCodeBlocks(reply.text);
    artifacts = await saveCodeBlocks(blocks, ctx.artifactsDir, used);
    if (artifacts.length > 0)
      header.push(
        `Saved ${artifacts.length} file${artifacts.length === 1 ? '' : 's'}: ${listed(artifacts, 20, ', ')}`,
      );
    if (blocks.some((b) => !b.closed))
      header.push('The answer was cut off inside a code block; the last file may be incomplete.');
  }
  let findings: string[] | undefined;
  if (spec.findings) {
    findings = extractFindings(reply.text).filter((f) => !/^none\.?$/i.test(f));
    header.push(
      `${findings.length} finding${findings.length === 1 ? '' : 's'}${findings.length ? ':' : '.'}`,
    );
    if (findings.length)
      header[header.length - 1] += `\n${listed(
        findings.map((f) => `- ${f}`),
        10,
        '\n',
      )}`;
  }
  return shapeResult({
    handler: spec.name,
    reply,
    artifactsDir: ctx.artifactsDir,
    artifacts,
    used,
    header,
    findings,
  });
}

/** At most `max` items joined, and how many more there are (all of them stay in the metadata). */
function listed(items: readonly string[], max: number, separator: string): string {
  const shown = items.slice(0, max).join(separator);
  return items.length > max ? `${shown}${separator}… and ${items.length - max} more` : shown;
}
