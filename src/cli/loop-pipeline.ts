/**
 * Wires the agent pipeline (tool queue, rollouts, learner) into `ygg loop` when hosts.yaml has
 * tools or a learner; otherwise it adds nothing.
 */
import type { YggConfig } from '../config/types.js';
import type { Loop, LoopOptions } from '../dispatch/loop.js';
import { createTransport } from '../hosts/pool.js';
import type { Transport } from '../hosts/transport.js';
import type { EventBus } from '../observe/events.js';
import { pipelineHooks } from '../pipeline/loop-hooks.js';
import { AgentPipeline } from '../pipeline/pipeline.js';
import type { PluginSet } from '../plugins/loader.js';
import type { Runtime } from './runtime.js';

type Hooks = Pick<LoopOptions, 'admit' | 'launched' | 'extendContext'>;

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

export async function openLoopPipeline(
  runtime: Runtime,
  config: YggConfig,
  bus: EventBus,
): Promise<LoopPipeline> {
  const wanted = Object.keys(config.tools ?? {}).length > 0 || config.learner !== undefined;
  if (!wanted) {
    return {
      pipeline: undefined,
      loopOptions: (plugins, base = {}) => ({ ...base, plugins }),
      bind() {},
      async [Symbol.asyncDispose]() {},
    };
  }
  const local = new Map<string, Transport>();
  const pipeline = await AgentPipeline.open({
    config,
    runtimeDir: runtime.store.runtimeDir,
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
    hostSlots: (host) => bound?.slots.get(host),
    slotFreed: () => bound?.kick(),
    kick: () => bound?.kick(),
  });
  const offs: Array<() => void> = [];
  return {
    pipeline,
    loopOptions: (plugins, base = {}) => ({
      plugins: hooks.wrapPlugins(plugins),
      admit: (task, type) => base.admit?.(task, type) ?? hooks.admit(task, type),
      launched: (task, type) => {
        base.launched?.(task, type);
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
