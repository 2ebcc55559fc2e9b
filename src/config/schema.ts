/**
 * The schema of hosts.yaml as written (snake_case keys, durations and sizes as text). Every
 * object is strict: an unknown key is an error. Defaults are applied by normalize.ts and quoted
 * in each description, so the JSON schema an editor reads documents them too.
 */
import { z } from 'zod';
import {
  duration,
  name,
  names,
  nonNegativeInt,
  oneOrMany,
  positiveInt,
  sandboxSchema,
  size,
} from './schema-parts.js';
import { learnerSchema, type rewardSchema, toolQueueSchema, toolSchema } from './schema-pipeline.js';

export { duration, sandboxSchema, size } from './schema-parts.js';
export { rewardSchema } from './schema-pipeline.js';

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
    lease: duration.describe(
      'Lease length of a running attempt (renewed while it runs). Default: 60s (15s on a PostgreSQL store).',
    ),
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
    discover_models: z
      .union([
        z.boolean(),
        z.array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'expected HOST:PORT like 127.0.0.1:11434')),
      ])
      .describe(
        'Look for a model server on this machine for local hosts without model: (true: Ollama on 127.0.0.1:11434, then an OpenAI-compatible server on 127.0.0.1:8080; a list: these HOST:PORT; false: never). Default: true.',
      ),
    store: z
      .string()
      .min(1)
      .describe(
        'The store after --store and YGG_STORE: a Beads JSONL path or a postgres:// URL (the password from PGPASSWORD or PGPASSFILE).',
      ),
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
