/**
 * The RL example's rollout handler (type `rollout`): pose a buggy program, let the policy (an
 * ONNX linear softmax over patch features) pick one of the candidate patches, and run the tests
 * on a tools host with `ctx.tool('run_tests')`. The reward (tests passed) is scored by ygg after
 * the handler returns, from the `run_tests` result recorded in the trajectory.
 *
 * A task names its problem in `metadata.rl`: `{ seed, index }` (see examples/rl/enqueue.ts).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RolloutExtensions } from '../../../src/pipeline/pipeline.js';
import type { ToolFunction } from '../../../src/pipeline/tool-function.js';
import type { ToolResult } from '../../../src/pipeline/tool-queue.js';
import type { ToolOutputSummary } from '../../../src/pipeline/trajectory.js';
import type { HandlerContext, HandlerResult, Plugin } from '../../../src/plugins/api.js';
import type { Task } from '../../../src/store/task.js';
import { candidateFeatures, featureCount } from '../features.js';
import { makeProblem } from '../problems.js';

type RolloutContext = HandlerContext & RolloutExtensions & { tool: ToolFunction };

function rolloutContext(ctx: HandlerContext): RolloutContext {
  for (const key of ['tool', 'policy', 'trajectory'] as const)
    if (!ctx[key]) throw new Error(`ctx.${key} is missing: run rollout tasks under ygg's agent pipeline`);
  return ctx as RolloutContext;
}

export function problemSpec(task: Task): { seed: number; index: number } {
  const rl = (task.metadata as { rl?: { seed?: unknown; index?: unknown } } | undefined)?.rl;
  if (typeof rl?.seed !== 'number' || typeof rl.index !== 'number')
    throw new Error(`task ${task.id} has no metadata.rl {seed, index}`);
  return { seed: rl.seed, index: rl.index };
}

/** Draw an index from a probability vector. */
export function sampleIndex(probabilities: readonly number[], random: () => number = Math.random): number {
  let u = random();
  for (let i = 0; i < probabilities.length; i++) {
    u -= probabilities[i]!;
    if (u < 0) return i;
  }
  return probabilities.length - 1;
}

function toolSummary(result: ToolResult): ToolOutputSummary {
  const keep = (text: string) => text.slice(-2000);
  return result.ok
    ? {
        tool: result.tool,
        ok: true,
        code: result.code,
        stdoutTail: keep(result.stdout),
        stderrTail: keep(result.stderr),
        durationMs: result.durationMs,
        cached: result.cached,
        host: result.host,
      }
    : {
        tool: result.tool,
        ok: false,
        code: null,
        stdoutTail: '',
        stderrTail: '',
        durationMs: 0,
        cached: false,
        error: result.error,
      };
}

export const plugin: Plugin = {
  name: 'rl-rollout',
  types: ['rollout'],
  async run(task: Task, handlerCtx: HandlerContext): Promise<HandlerResult> {
    const ctx = rolloutContext(handlerCtx);
    const { seed, index } = problemSpec(task);
    const problem = makeProblem(seed, index);
    const features = candidateFeatures(problem);
    const out = await ctx.policy.run({
      features: { data: features.flat(), dims: [features.length, featureCount] },
    });
    const probabilities = out.probabilities?.data ?? [];
    const choice = sampleIndex(probabilities);
    const patch = problem.candidates[choice]!;

    const programFile = join(ctx.artifactsDir, 'program.json');
    const patchFile = join(ctx.artifactsDir, 'patch.json');
    await writeFile(
      programFile,
      JSON.stringify({ fn: problem.fn, source: problem.source, tests: problem.tests }),
    );
    await writeFile(patchFile, JSON.stringify(patch));
    const result = await ctx.tool(
      'run_tests',
      {},
      { files: { program: programFile, patch: patchFile }, signal: ctx.signal },
    );

    ctx.trajectory.step(
      { problem: problem.id, features },
      { index: choice, probability: probabilities[choice] },
      toolSummary(result),
    );
    if (!result.ok) ctx.trajectory.fail(result.error);
    const verdict = result.ok ? (result.stdout.trim().split('\n').at(-1) ?? '') : result.error;
    return {
      summary: `${problem.id}: policy v${ctx.policy.version} chose patch ${choice + 1}/${problem.candidates.length} (line ${patch.line + 1}); ${verdict}`,
      metadata: {
        problem: problem.id,
        choice,
        policyVersion: ctx.policy.version,
        fix: choice === problem.fixIndex,
      },
    };
  },
};
