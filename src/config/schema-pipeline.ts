/** hosts.yaml's agent pipeline sections: tools, the tool queue, rewards and the learner. */
import { z } from 'zod';
import { duration, name, nonNegativeInt, positiveInt, sandboxSchema } from './schema-parts.js';

export const filesSchema = z
  .record(name, name)
  .describe(
    'Files the command needs: key -> local path (relative to this file); `{key}` names its remote path.',
  );

export const toolSchema = z
  .object({
    argv: z
      .array(z.string())
      .min(1, 'expected a non-empty argv list')
      .describe('argv template (never a shell string); `{key}` is filled from the call args or files.'),
    files: filesSchema.optional(),
    timeout: duration.optional().describe('Wall-clock bound per call. Default: none (the sandbox bound).'),
    sandbox: sandboxSchema.optional().describe("Overrides of the tools host's sandbox settings."),
  })
  .strict();

export const toolQueueSchema = z
  .object({
    cache_ttl: duration.describe(
      'An identical call within this time returns the cached result. Default: 10m.',
    ),
    max_attempts: positiveInt.describe('Tools hosts tried before the call result is an error. Default: 3.'),
  })
  .partial()
  .strict();

/**
 * One reward plugin scoring finished trajectories; the combined reward is the weighted sum. One
 * object for both plugins (not a union), so an unknown key is named with the keys it could be.
 */
export const rewardSchema = z
  .object({
    name: z
      .enum(['tests_passed', 'onnx'])
      .describe(
        'tests_passed: the fraction of tests the last call of `tool` passed; onnx: an ONNX reward model run with onnxruntime-node.',
      ),
    weight: z.number().optional().describe('Multiplies its score in the combined reward. Default: 1.'),
    as: name
      .optional()
      .describe("The key its score is kept under in a trajectory's rewards. Default: the plugin's name."),
    tool: name.optional().describe('tests_passed: the tool whose output is read. Default: run_tests.'),
    model: name
      .optional()
      .describe('onnx: the model file (relative to this file): features [1, F] in, a score out.'),
    features: name
      .optional()
      .describe(
        'onnx: who declares the features: a module (.ts, .js or .mjs, relative to this file) exporting `rewardFeatures(trajectory)`, or the name of a handler plugin whose `plugin.rewardFeatures` does.',
      ),
    input: name.optional().describe("onnx: the model's input name. Default: features."),
    output: name.optional().describe("onnx: the model output read. Default: the model's first."),
  })
  .strict()
  .superRefine((reward, ctx) => {
    const onnxOnly = ['model', 'features', 'input', 'output'] as const;
    if (reward.name === 'onnx') {
      for (const key of ['model', 'features'] as const)
        if (reward[key] === undefined)
          ctx.addIssue({ code: 'custom', path: [key], message: 'required key is missing (for name: onnx)' });
      if (reward.tool !== undefined)
        ctx.addIssue({ code: 'custom', path: ['tool'], message: 'only for name: tests_passed' });
    } else {
      for (const key of onnxOnly)
        if (reward[key] !== undefined)
          ctx.addIssue({ code: 'custom', path: [key], message: 'only for name: onnx' });
    }
  });

export const rewardsSchema = z
  .array(rewardSchema)
  .superRefine((rewards, ctx) => {
    const seen = new Set<string>();
    rewards.forEach((reward, i) => {
      const key = reward.as ?? reward.name;
      if (seen.has(key))
        ctx.addIssue({
          code: 'custom',
          path: [i, reward.as ? 'as' : 'name'],
          message: 'an earlier reward is scored under this key too (set `as` on one of them)',
        });
      seen.add(key);
    });
  })
  .describe(
    'Reward plugins scoring finished rollouts; the reward is their weighted sum. Default: [{name: tests_passed}].',
  );

export const learnerSchema = z
  .object({
    host: name.describe('The one host the learner ever runs on.'),
    command: z
      .array(z.string())
      .min(1, 'expected a non-empty argv list')
      .describe('argv template: {batch}, {policy}, {checkpoint}, {workdir}, {version} and keys of files.'),
    files: filesSchema.optional(),
    batch_size: positiveInt.optional().describe('Fresh trajectories per training step. Default: 8.'),
    max_staleness: nonNegativeInt
      .optional()
      .describe('Versions a trajectory may lag the policy. Default: 1.'),
    max_inflight: positiveInt.optional().describe('Rollouts admitted at once. Default: 4 x batch_size.'),
    timeout: duration.optional().describe('Bound on one training run. Default: none.'),
    initial_policy: name
      .optional()
      .describe('Checkpoint used before the first publication (relative to this file).'),
    replay_capacity: positiveInt
      .optional()
      .describe('Scored trajectories kept in the replay buffer. Default: 1000.'),
    rewards: rewardsSchema.optional(),
  })
  .strict();
