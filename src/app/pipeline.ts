/**
 * Wires the agent pipeline (tool queue, rollouts, learner) into `ygg loop` when hosts.yaml has
 * tools or a learner; otherwise it adds nothing. The pipeline is built once, at start: when
 * hosts.yaml reloads with changes to `tools:`, `tool_queue:`, `learner:` or the tools hosts, it
 * keeps running as it was and says that a restart is needed to apply them.
 */
import type { YggConfig } from '../config/types.js';
import type { DispatchExtensions } from '../dispatch/extensions.js';
import type { Loop } from '../dispatch/loop.js';
import { createTransport } from '../hosts/pool.js';
import type { Transport } from '../hosts/transport.js';
import type { EventBus } from '../observe/events.js';
import { pipelineHooks } from '../pipeline/loop-hooks.js';
import { AgentPipeline } from '../pipeline/pipeline.js';
import type { PluginSet } from '../plugins/loader.js';
import type { Runtime } from './runtime.js';

type Hooks = Pick<DispatchExtensions, 'admit' | 'launched' | 'extendContext'>;

export interface LoopPipeline extends AsyncDisposable {
  pipeline: AgentPipeline | undefined;
  /**
   * Loop options to spread into `new Loop({...})` after the others: the wrapped plugins, and the
   * pipeline's hooks chained after the given ones (their admission first).
   */
  loopOptions(plugins: PluginSet, base?: Hooks): Hooks & { plugins: PluginSet };
  /** Connect to the loop once it exists (slots, kicks) and start the learner. */
  bind(loop: Loop): void;
}

export interface LoopPipelineOptions {
  /** Where a reload that needs a restart is reported (default: a line on stderr). */
  warn?: (message: string) => void;
}

/** The settings the pipeline is built from at start, by the hosts.yaml section they come from. */
function startSettings(config: YggConfig): Record<string, unknown> {
  return {
    tools: config.tools ?? {},
    tool_queue: config.toolQueue ?? null,
    learner: config.learner ?? null,
    'hosts with the tools role': config.hosts
      .filter((h) => h.roles.includes('tools'))
      .map((h) => ({ name: h.name, slots: h.slots, transport: h.transport, workRoot: h.sandbox.workRoot })),
  };
}

/** The sections whose pipeline settings differ between two configurations (empty when none). */
export function pipelineRestartSections(before: YggConfig, after: YggConfig): string[] {
  const a = startSettings(before);
  const b = startSettings(after);
  return Object.keys(a).filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

/** Report, once per distinct change, reloads whose pipeline settings only a restart applies. */
function warnOnReload(bus: EventBus, loop: Loop, started: YggConfig, warn: (message: string) => void) {
  let reported = JSON.stringify(startSettings(started));
  return bus.on('config:reloaded', ({ path }) => {
    const now = JSON.stringify(startSettings(loop.config));
    if (now === reported) return;
    reported = now;
    const sections = pipelineRestartSections(started, loop.config);
    if (sections.length === 0) {
      warn(`ygg: ${path}: the agent pipeline's settings are back to those it started with`);
      return;
    }
    warn(
      `ygg: ${path} changed ${sections.join(', ')}: the agent pipeline (tool queue, learner, rewards) keeps the settings it started with; restart ygg loop to apply the change`,
    );
  });
}

export async function openLoopPipeline(
  runtime: Runtime,
  config: YggConfig,
  bus: EventBus,
  options: LoopPipelineOptions = {},
): Promise<LoopPipeline> {
  const warn = options.warn ?? ((message: string) => process.stderr.write(`${message}\n`));
  const offs: Array<() => void> = [];
  const wanted = Object.keys(config.tools ?? {}).length > 0 || config.learner !== undefined;
  if (!wanted) {
    return {
      pipeline: undefined,
      loopOptions: (plugins, base = {}) => ({ ...base, plugins }),
      bind(loop) {
        // Tools or a learner added later need a restart too.
        offs.push(warnOnReload(bus, loop, config, warn));
      },
      async [Symbol.asyncDispose]() {
        for (const off of offs.splice(0)) off();
      },
    };
  }
  const local = new Map<string, Transport>();
  const pipeline = await AgentPipeline.open({
    config,
    runtimeDir: runtime.store.runtimeDir,
    sharedState: runtime.store.sharedState,
    transportFor: (name) => {
      const host = config.hosts.find((h) => h.name === name);
      if (!host) throw new Error(`no host named ${name} in hosts.yaml`);
      if (host.transport === 'ssh') return runtime.transport(host);
      // Tools and the learner run sandboxed: a local host gets the sandboxing local transport.
      let transport = local.get(name);
      if (!transport) {
        transport = createTransport(host);
        local.set(name, transport);
      }
      return transport;
    },
    events: bus,
    // An onnx reward's features may be declared by a handler plugin.
    plugins: runtime.plugins.byName,
  });
  let bound: Loop | undefined;
  const hooks = pipelineHooks({
    pipeline,
    config: () => bound?.config ?? config,
    kick: () => bound?.kick(),
  });
  return {
    pipeline,
    loopOptions: (plugins, base = {}) => ({
      plugins: hooks.wrapPlugins(plugins),
      admit: (task, type, view) => base.admit?.(task, type, view) ?? hooks.admit(task, type),
      launched: (task, type, view) => {
        base.launched?.(task, type, view);
        hooks.launched(task, type);
      },
      extendContext: (ctx, info) => {
        base.extendContext?.(ctx, info);
        hooks.extendContext(ctx, info);
      },
    }),
    bind(loop) {
      bound = loop;
      // The learner keeps one slot of its host for itself: tasks never take that GPU from it.
      const learnerHost = config.learner?.host;
      const hostSlots = learnerHost ? loop.slots.get(learnerHost) : undefined;
      const reserved = hostSlots?.tryAcquire();
      if (hostSlots && reserved) offs.push(() => hostSlots.release(reserved));
      // A new policy version or a finished rollout may let held rollouts in.
      offs.push(
        bus.on('policy:published', () => loop.kick()),
        bus.on('trajectory:recorded', () => loop.kick()),
        warnOnReload(bus, loop, config, warn),
      );
      pipeline.start();
    },
    async [Symbol.asyncDispose]() {
      for (const off of offs.splice(0)) off();
      await pipeline.stop();
      for (const transport of local.values()) await transport.close();
    },
  };
}
