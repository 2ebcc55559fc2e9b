/**
 * `ygg run ID`: runs one task now, in the foreground, on one host, printing the model's stream as
 * it comes, for trying a prompt or a handler. The store is read, never written: the task keeps
 * its status, and the artifacts go to a folder of their own.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { findLocalModel } from '../app/local-models.js';
import { openRuntime } from '../app/runtime.js';
import { classifyType, typeConfigFor } from '../config/type-rules.js';
import type { HostConfig, YggConfig } from '../config/types.js';
import { type AttemptOutcome, startAttempt } from '../dispatch/attempt.js';
import { ExitError, noSuchTask, YggError } from '../errors.js';
import { EndpointCatalog } from '../hosts/model/catalog.js';
import { withLocalModel } from '../hosts/model/local-models.js';
import { modelRequest } from '../hosts/model/model-request.js';
import type { HandlerLogger, Plugin } from '../plugins/api.js';
import { attachLlm } from '../plugins/llm-context.js';
import { type Task, yggOf } from '../store/task.js';
import { type CommonOptions, withCommonOptions } from './runtime.js';

export interface RunOptions extends CommonOptions {
  id: string;
  /** Run on this host instead of the type's first eligible one. */
  host?: string;
  /** Use this model instead of the endpoint's (or the task's `model:` label). */
  model?: string;
  signal?: AbortSignal;
  /** Streamed model text, as it comes. */
  onText?: (text: string) => void;
  /** Other progress lines of the handler. */
  onProgress?: (line: string) => void;
  /** What ygg says on the way (a model server found on this machine). */
  onNote?: (line: string) => void;
  log?: HandlerLogger;
}

export interface RunReport {
  id: string;
  type: string;
  host: string;
  handler: string;
  artifactsDir: string;
  outcome: AttemptOutcome;
}

export async function runCommand(options: RunOptions): Promise<RunReport> {
  await using rt = await openRuntime(options);
  const task = rt.store.get(options.id);
  if (!task) throw noSuchTask(options.id, rt.store.path);
  // Local hosts without a `model:` use the model server found on this machine, as in the loop.
  const found = await findLocalModel(rt.config, rt.store.runtimeDir, (line) => options.onNote?.(line));
  const config = withLocalModel(rt.config, found);
  const type = classifyType(task, config);
  const plugin = pluginFor(rt.plugins.byName, rt.plugins.byType, task, type, config);
  const host = await hostFor(config, task, type, options);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const artifactsDir = join(rt.store.runtimeDir, 'runs', task.id, stamp);
  const typeConfig = config.types[type];
  const { control, done } = startAttempt({
    task,
    type,
    plugin,
    host,
    transport: rt.transport(host),
    attempt: 1,
    gpus: [],
    artifactsDir,
    timeoutMs: yggOf(task).timeout_ms ?? typeConfig?.timeoutMs ?? config.defaults.timeoutMs,
    hardTimeoutMs: yggOf(task).hard_timeout_ms ?? typeConfig?.hardTimeoutMs ?? config.defaults.hardTimeoutMs,
    log: options.log ?? silentLog,
    onProgress: (text) => options.onProgress?.(text),
    onHeartbeat: () => undefined,
    extend: (ctx) =>
      attachLlm(ctx, task, {
        labelPrefix: config.queue.modelLabelPrefix,
        ...(options.model ? { model: options.model } : {}),
        progress: (text) => options.onText?.(text),
        progressIntervalMs: 0,
      }),
  });
  const stop = () => control.stop('cancelled', 'ygg run');
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    return { id: task.id, type, host: host.name, handler: plugin.name, artifactsDir, outcome: await done };
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

function pluginFor(
  byName: ReadonlyMap<string, Plugin>,
  byType: ReadonlyMap<string, Plugin>,
  task: Task,
  type: string,
  config: YggConfig,
): Plugin {
  const named = yggOf(task).handler ?? config.types[type]?.handler;
  const plugin = named ? byName.get(named) : byType.get(type);
  if (plugin) return plugin;
  throw new YggError(
    named ? `task ${task.id} names handler "${named}", which is not loaded` : `no handler for type "${type}"`,
    { hint: 'See the loaded plugins and their types with `ygg config check`.' },
  );
}

/**
 * `--host`, else the type's first eligible host, as the loop would prefer it; a task asking for
 * a model (label `model:NAME`, unless --model overrides it) goes to the first that serves it.
 */
async function hostFor(
  config: YggConfig,
  task: Task,
  type: string,
  options: Pick<RunOptions, 'host' | 'model' | 'signal'>,
): Promise<HostConfig> {
  const wanted = options.host;
  if (wanted) {
    const host = config.hosts.find((h) => h.name === wanted);
    if (!host)
      throw new YggError(`no host "${wanted}" in the config`, {
        hint: `hosts: ${config.hosts.map((h) => h.name).join(', ')}`,
      });
    return host;
  }
  const eligible = typeConfigFor(config, type)
    .hosts.map((name) => config.hosts.find((h) => h.name === name))
    .filter((h): h is HostConfig => h !== undefined);
  const first = eligible[0];
  if (!first) throw new YggError(`no host is eligible for type "${type}"`, { hint: 'Name one with --host.' });
  const model = options.model ? undefined : modelRequest(task, config.queue.modelLabelPrefix);
  if (!model) return first;
  const catalog = new EndpointCatalog(eligible);
  await catalog.refresh(undefined, options.signal);
  const serving = eligible.find((h) => catalog.serves(h.name, model));
  if (serving) return serving;
  throw new YggError(
    `no host eligible for type "${type}" serves model ${model} (asked: ${eligible.map((h) => h.name).join(', ')})`,
    { hint: 'Pull the model on one of them, or choose with --host and --model.' },
  );
}

const silentLog: HandlerLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export function register(program: Command): void {
  withCommonOptions(
    program
      .command('run')
      .description('run one task now in the foreground, printing the stream (the store is not changed)')
      .argument('<id>', 'the task id')
      .option('--host <name>', "run on this host (default: the type's first eligible host)")
      .option('--model <name>', "use this model instead of the endpoint's"),
  ).action(async (id: string, flags: CommonOptions & { host?: string; model?: string }) => {
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    let streamed = false;
    try {
      const report = await runCommand({
        ...flags,
        id,
        signal: controller.signal,
        onText: (text) => {
          streamed = true;
          process.stdout.write(text);
        },
        onProgress: (line) => process.stderr.write(`· ${line.trimEnd()}\n`),
        onNote: (line) => process.stderr.write(`ygg: ${line}\n`),
      });
      if (streamed) process.stdout.write('\n');
      const { outcome } = report;
      const where = `${report.id} (${report.type}) on ${report.host} with ${report.handler}`;
      if (outcome.kind === 'succeeded') {
        const result = outcome.result;
        process.stderr.write(`\n✓ ${where} in ${Math.round(outcome.runMs)} ms\n`);
        if (!streamed && result.summary) process.stdout.write(`${result.summary}\n`);
        if (result.metadata) process.stderr.write(`${JSON.stringify(result.metadata)}\n`);
        if (result.artifacts?.length) {
          process.stderr.write(
            `artifacts (${report.artifactsDir}):\n${result.artifacts.map((a) => `- ${a}`).join('\n')}\n`,
          );
        }
        return;
      }
      const why =
        outcome.kind === 'failed'
          ? `${outcome.error.message}${outcome.retryable ? '' : ' (not retryable)'}`
          : outcome.reason;
      process.stderr.write(`\n✗ ${where}: ${why}\n`);
      throw new ExitError(outcome.kind === 'stopped' ? 130 : 1);
    } finally {
      process.off('SIGINT', onSignal);
    }
  });
}
