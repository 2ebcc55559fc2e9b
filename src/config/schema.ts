/**
 * The schema of hosts.yaml as written (snake_case keys, durations and sizes as text). Every
 * object is strict: an unknown key is an error. Defaults are applied by normalize.ts and quoted
 * in each description, so the JSON schema an editor reads documents them too.
 */
import { z } from 'zod';
import { durationHint, durationPattern, sizeHint, sizePattern } from './units.js';

/** `250ms`, `30s`, `5m`, `1h`, or a number of seconds. */
export const duration = z.union(
  [z.number().nonnegative(durationHint), z.string().regex(durationPattern, durationHint)],
  { error: durationHint },
);
/** `512M`, `2G`, or a number of bytes. */
export const size = z.union(
  [z.number().int(sizeHint).nonnegative(sizeHint), z.string().regex(sizePattern, sizeHint)],
  { error: sizeHint },
);

const positiveInt = z.number().int('expected a positive integer').positive('expected a positive integer');
const nonNegativeInt = z
  .number()
  .int('expected a whole number, 0 or more')
  .nonnegative('expected a whole number, 0 or more');
const name = z.string().min(1, 'expected a non-empty name');
const names = z.array(name);
/** One string or a list of them. */
const oneOrMany = z.union([name, names], { error: 'expected a string or a list of strings' });

export const sandboxSchema = z
  .object({
    enabled: z.boolean().describe('Run tools in bubblewrap where the host has it. Default: true.'),
    network: z.boolean().describe('Allow network access inside the sandbox. Default: false.'),
    memory: size.describe('Address-space limit. Default: 2G.'),
    cpu: duration.describe('CPU time limit. Default: 10m.'),
    file_size: size.describe('Largest file a command may write. Default: 1G.'),
    processes: positiveInt.describe('Process count limit. Default: 256.'),
    tmp: size.describe('Size of the private /tmp (and of /dev/shm). Default: 256M.'),
    disk: size.describe('Size of the work directory ygg makes for a command (a tmpfs). Default: 1G.'),
    cpu_share: z
      .number()
      .positive('expected a number of cores above 0, like 1 or 0.5')
      .describe(
        'Cores one attempt may use at most (a cgroup CPU quota, where the host has one). Default: no quota.',
      ),
    env: z
      .record(z.string(), z.string())
      .refine((vars) => Object.keys(vars).every((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)), {
        error: 'expected environment variable names (letters, digits and _, not starting with a digit)',
      })
      .describe(
        'Variables set in the sandbox beside PATH, HOME and LANG; nothing else is inherited. Default: none.',
      ),
    run_as: name.describe('Unprivileged user to run as when ygg logs in as root. Default: none.'),
    cgroup: z
      .boolean()
      .describe(
        'Give each command a cgroup of its own where the host offers one; false leaves the host to the next isolation (a user per slot, else per-user limits). Default: true.',
      ),
    work_root: name.describe('Parent of per-attempt work directories on the host. Default: /tmp/ygg-work.'),
  })
  .partial()
  .strict();

const backoffSchema = z
  .object({
    base: duration.describe('Delay after the first failure. Default: 1s.'),
    max: duration.describe('Longest delay. Default: 5m.'),
    factor: z.number().min(1, 'expected a factor of 1 or more').describe('Growth per attempt. Default: 2.'),
    jitter: z
      .number()
      .min(0, 'expected a fraction from 0 to 1')
      .max(1, 'expected a fraction from 0 to 1')
      .describe('Fraction of each delay drawn at random. Default: 0.2.'),
  })
  .partial()
  .strict();

const modelTimeoutsSchema = z
  .object({
    connect: duration.describe('Default: 10s.'),
    first_token: duration.describe('Default: 2m.'),
    idle: duration.describe('Longest silence between tokens. Default: 60s.'),
    total: duration.describe('Default: 30m.'),
  })
  .partial()
  .strict();

const modelFields = {
  api: z.enum(['ollama', 'openai']).describe('Wire format: ollama, or openai (llama.cpp, vLLM, LM Studio).'),
  url: z.url('expected a URL like http://127.0.0.1:11434').describe('Base URL of the endpoint.'),
  model: name.describe('Model name the endpoint serves.'),
  api_key_env: name.optional().describe('Environment variable holding the API key (never logged).'),
  options: z.record(z.string(), z.unknown()).optional().describe('Passed to the endpoint as is.'),
  timeouts: modelTimeoutsSchema.optional(),
};
export const modelSchema = z.object(modelFields).strict();
/** A per-type endpoint on a host: any key missing is taken from the host's `model`. */
const modelOverrideSchema = modelSchema.partial().strict();

export const hostSchema = z
  .object({
    transport: z.enum(['local', 'ssh']).describe('local (this machine) or ssh. Default: local.'),
    address: name.describe("ssh: host name or IP address. Default: the host's name."),
    port: z
      .number()
      .int('expected a port 1-65535')
      .min(1, 'expected a port 1-65535')
      .max(65535, 'expected a port 1-65535')
      .describe('ssh: port. Default: 22.'),
    user: name.describe('ssh: login user. Default: the current user.'),
    key: name.describe('ssh: private key file (relative to this file; ~ is home). Default: the SSH agent.'),
    known_hosts: name.describe('ssh: known_hosts file. Default: ~/.ssh/known_hosts.'),
    fingerprint: z
      .string()
      .regex(
        /^SHA256:[A-Za-z0-9+/]{43}=?$/,
        'expected a host key fingerprint like SHA256:abc... (43 characters)',
      )
      .describe('ssh: pinned host key fingerprint; wins over known_hosts.'),
    keepalive: duration.describe('ssh: keepalive interval. Default: 15s.'),
    connect_timeout: duration.describe('ssh: connect timeout. Default: 10s.'),
    max_channels: positiveInt.describe('ssh: channels per connection before another opens. Default: 5.'),
    slots: nonNegativeInt.describe('Tasks run at once. Default: 1, or GPUs x slots_per_gpu.'),
    roles: z
      .array(z.enum(['inference', 'tools', 'learner']))
      .describe('What the host does: inference, tools, learner. Default: [inference].'),
    gpus: z
      .union([positiveInt, z.array(nonNegativeInt)], {
        error: 'expected a GPU count or a list of GPU indices',
      })
      .describe('GPUs the slots are bound to: a count (0..N-1) or a list of indices.'),
    slots_per_gpu: positiveInt.describe('Slots on each GPU of `gpus`. Default: 1.'),
    gpu_memory_gb: z.number().positive('expected a positive number of GB').describe('Total GPU memory.'),
    model: modelSchema.describe('The model endpoint of this host.'),
    models_by_type: z
      .record(name, modelOverrideSchema)
      .describe('Per-type endpoints on this host; missing keys come from `model`.'),
    sandbox: sandboxSchema.describe('Sandbox limits for this host; missing keys come from defaults.sandbox.'),
    probe_interval: duration.describe('Health probe interval. Default: 10s.'),
    probe_failures: positiveInt.describe('Failed probes in a row before the host is down. Default: 3.'),
  })
  .partial()
  .strict();

export const typeSchema = z
  .object({
    hosts: names.describe(
      'Eligible hosts in order of preference. Default: every inference host, file order.',
    ),
    attempts: positiveInt.describe(
      'Runs before the task is dead-lettered. Unset: the handler plugin’s own, else defaults.attempts (3).',
    ),
    backoff: backoffSchema,
    timeout: duration.describe('Soft timeout: the handler signal aborts. Default: defaults.timeout (none).'),
    hard_timeout: duration.describe(
      'Hard timeout: the work is killed. Default: defaults.hard_timeout (none).',
    ),
    vram_gb: z.number().positive('expected a positive number of GB').describe('GPU memory a task needs.'),
    handler: name.describe('Plugin that runs this type. Default: the plugin registered for the type.'),
    max_concurrent: positiveInt.describe('Running at once across all hosts. Default: no cap.'),
    estimate: z
      .union([duration, z.record(name, duration)], {
        error: 'expected a duration, or a map of host name to duration',
      })
      .describe('Expected run time, overall or per host, used before history exists.'),
    release_slot_on_tool: z.boolean().describe('Free the slot while a tool call runs. Default: true.'),
    sandbox: sandboxSchema,
  })
  .partial()
  .strict();

export const typeRuleSchema = z
  .object({
    type: name.describe('The type this rule names.'),
    labels: oneOrMany.optional().describe('Any of these labels matches.'),
    title_prefix: oneOrMany.optional().describe('A title starting with any of these (any case) matches.'),
    title_contains: oneOrMany.optional().describe('A title containing any of these (any case) matches.'),
    issue_type: oneOrMany.optional().describe('A Beads issue_type among these matches.'),
  })
  .strict();

const rateLimitSchema = z.union(
  [z.object({ starts: positiveInt, window: duration }).strict(), z.object({ min_gap: duration }).strict()],
  { error: 'expected {starts, window} or {min_gap}' },
);

export const queueSchema = z
  .object({
    order: z
      .enum(['fifo', 'makespan'])
      .describe('fifo: oldest first; makespan: longest expected first. Default: fifo.'),
    strategy: z.enum(['fifo', 'priority', 'fair']).describe('Default: priority.'),
    poll_interval: duration.describe('Safety-net poll of the store besides the file watch. Default: 30s.'),
    lease: duration.describe('Lease length of a running attempt (renewed while it runs). Default: 60s.'),
    shutdown_grace: duration.describe(
      'Wait for running tasks on shutdown before aborting them. Default: 30s.',
    ),
    model_label_prefix: name.describe('Label prefix asking for a model. Default: "model:".'),
    max_size: positiveInt.describe('Open tasks in total before `ygg add` refuses. Default: no limit.'),
    max_per_submitter: positiveInt.describe('Open tasks per submitter. Default: no limit.'),
    weights: z
      .record(name, z.number().positive('expected a positive weight'))
      .describe('Fair-share weights.'),
    boost_label: name.describe('Label that lets a task go first in its level once. Default: boost.'),
    rate_limit: rateLimitSchema.describe('Per-submitter start limit: {starts, window} or {min_gap}.'),
    eval_types: z
      .array(name)
      .describe(
        'Types whose successful runs count as evaluations in `ygg stats`. Default: types named with "eval" or "grader".',
      ),
  })
  .partial()
  .strict();

const filesSchema = z
  .record(name, name)
  .describe(
    'Files the command needs: key -> local path (relative to this file); `{key}` names its remote path.',
  );

const toolSchema = z
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

const toolQueueSchema = z
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

const rewardsSchema = z
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

const learnerSchema = z
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

const notifySchema = z
  .object({
    command: z.array(z.string()).min(1, 'expected a non-empty argv list').optional(),
    webhook: z.url('expected a URL').optional(),
    on: z
      .array(z.enum(['dead', 'host-down', 'host-up']))
      .optional()
      .describe('Default: all three.'),
  })
  .strict();

const retentionLimitSchema = (bytes: string, age: string) =>
  z
    .object({
      max_bytes: size.describe(
        `Bytes this kind may use in all; past it the oldest go first. Default: ${bytes}.`,
      ),
      max_age: duration.describe(`Items not written for longer than this are removed. Default: ${age}.`),
    })
    .partial()
    .strict();

export const retentionSchema = z
  .object({
    interval: duration.describe('Time between two sweeps while `ygg loop` runs. Default: 10m.'),
    artifacts: retentionLimitSchema('1G', '30d').describe(
      'Task artifacts (.ygg/artifacts/TASK/ATTEMPT), `ygg run` folders (.ygg/runs/), policy checkpoints older than the newest max_staleness + 1.',
    ),
    trajectories: retentionLimitSchema('1G', '90d').describe(
      'The trajectory log, rotated into whole segments (.ygg/trajectories.N.jsonl), and learner batch files.',
    ),
    logs: retentionLimitSchema('256M', '30d').describe('Files in .ygg/logs/.'),
  })
  .partial()
  .strict()
  .describe(
    'What .ygg/ may hold: the oldest items past a limit are removed; the newest of each place is kept.',
  );

export const hostsFileSchema = z
  .object({
    hosts: z.record(name, hostSchema).describe('Named hosts, in order.'),
    types: z.record(name, typeSchema).describe('Per-type routing and limits.'),
    type_rules: z.array(typeRuleSchema).describe('Tried before the built-in rules; labels win over titles.'),
    issue_types: z.record(name, name).describe('Beads issue_type mapped to a type.'),
    queue: queueSchema,
    plugins: z
      .object({ dirs: names.describe('Extra plugin folders, relative to this file.') })
      .partial()
      .strict(),
    status: z
      .object({
        host: name.describe('Status server address. Default: 127.0.0.1.'),
        port: z.number().int().min(0, 'expected a port 0-65535').max(65535, 'expected a port 0-65535'),
        names: names.describe(
          'Other names the server is reached by (a DNS name, a proxy), accepted as the Host of a request.',
        ),
      })
      .partial()
      .strict()
      .describe('Status server; port default 7467, 0 picks a free one.'),
    defaults: z
      .object({
        attempts: positiveInt.describe('Default: 3.'),
        backoff: backoffSchema,
        timeout: duration,
        hard_timeout: duration,
        sandbox: sandboxSchema,
      })
      .partial()
      .strict(),
    tools: z.record(name, toolSchema).describe('Named tool commands run on hosts with the tools role.'),
    tool_queue: toolQueueSchema,
    learner: learnerSchema,
    notify: notifySchema,
    retention: retentionSchema,
  })
  .partial()
  .strict();

/** hosts.yaml as written, after schema validation. */
export type HostsFile = z.output<typeof hostsFileSchema>;
export type HostEntry = z.output<typeof hostSchema>;
export type TypeEntry = z.output<typeof typeSchema>;
export type SandboxEntry = z.output<typeof sandboxSchema>;
export type ModelEntry = z.output<typeof modelSchema>;
export type RewardEntry = z.output<typeof rewardSchema>;
