/**
 * `ctx.tool(name, args)` for a handler: the caller's GPU slot is released while the tool call
 * waits and runs, and taken back before the handler continues, so the GPU serves other tasks
 * meanwhile (`release_slot_on_tool`, default on). With overlapping calls from one handler, the
 * slot is released once and each call returns only once the slot is held again.
 */
import type { ToolCallOptions, ToolQueue, ToolResult } from './tool-queue.js';

export type ToolFunction = (
  name: string,
  args?: Record<string, string>,
  options?: ToolCallOptions,
) => Promise<ToolResult>;

export interface ToolFunctionOptions {
  queue: Pick<ToolQueue, 'call'>;
  /** Give the caller's slot back to its host. */
  releaseSlot: () => void | Promise<void>;
  /** Wait for a slot on the same host again. */
  reacquireSlot: () => Promise<void>;
  /** The type's `release_slot_on_tool` (default true). */
  releaseOnTool?: boolean;
  /** Passed to every call unless the call gives its own. */
  defaults?: ToolCallOptions;
}

export function createToolFunction(options: ToolFunctionOptions): ToolFunction {
  const release = options.releaseOnTool ?? true;
  let held = true;
  // Release and reacquire never overlap: each waits for the one before it.
  let transition: Promise<void> = Promise.resolve();
  const settle = (wantHeld: boolean): Promise<void> => {
    transition = transition
      .catch(() => undefined)
      .then(async () => {
        if (held === wantHeld) return;
        if (wantHeld) await options.reacquireSlot();
        else await options.releaseSlot();
        held = wantHeld;
      });
    return transition;
  };
  return async (name, args = {}, callOptions = {}) => {
    const merged = { ...options.defaults, ...callOptions };
    if (!release) return options.queue.call(name, args, merged);
    await settle(false);
    try {
      return await options.queue.call(name, args, merged);
    } finally {
      // The handler resumes only with its slot back, even while another of its calls still runs.
      await settle(true);
    }
  };
}
