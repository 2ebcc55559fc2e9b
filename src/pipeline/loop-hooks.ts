/**
 * The agent pipeline plugged into the dispatch loop through its hooks, without the loop knowing
 * any of it:
 * - `admit`: a `rollout` task waits while the staleness gate is full (AReaL's rule);
 * - `launched`: the task takes its admission ticket as its slot is taken (the same pass, so two
 *   tasks never both pass a gate with room for one);
 * - `extendContext`: every handler gets `ctx.tool` (releasing its slot while the tool runs) and
 *   `ctx.onnx`; a rollout also gets `ctx.policy` and `ctx.trajectory` (in the group its task
 *   names, see `rolloutGroup`, for the replay priority);
 * - `wrapPlugins`: once a rollout's handler ends, its trajectory is scored, logged and kept for
 *   the learner, and its summary joins the result comment. A rollout that reached its handler
 *   without a ticket (its claim outlasted `unclaimedTicketMs`, so the ticket went back) is not
 *   run outside the gate: it waits for admission before its handler starts, reported in its
 *   progress, and rollouts not yet claimed wait behind it.
 */
import type { YggConfig } from '../config/types.js';
import type { AttemptInfo } from '../dispatch/extensions.js';
import type { HandlerContext, HandlerResult, Plugin } from '../plugins/api.js';
import type { PluginSet } from '../plugins/loader.js';
import { labelsOf, type Task, yggOf } from '../store/task.js';
import { runOnnx } from './onnx-session.js';
import type { AgentPipeline, Rollout } from './pipeline.js';
import type { AdmissionTicket } from './staleness.js';
import { createToolFunction, type ToolFunction } from './tool-function.js';

export interface PipelineHooksOptions {
  pipeline: AgentPipeline;
  config: () => YggConfig;
  /** Ask the loop to look at the queue again (rollouts held behind an admitted one may start). */
  kick?: () => void;
  /** Types run as rollouts (default: `rollout`). */
  rolloutTypes?: readonly string[];
  /** A ticket whose task never reached its handler (the claim failed) is returned after this (default 60 s). */
  unclaimedTicketMs?: number;
  now?: () => number;
}

export interface PipelineHooks {
  admit(task: Task, type: string): string | undefined;
  launched(task: Task, type: string): void;
  extendContext(ctx: HandlerContext, info: AttemptInfo): void;
  wrapPlugins(plugins: PluginSet): PluginSet;
}

const rolloutKey = Symbol('ygg.rollout');
/** A rollout claimed without a ticket: begins it once the gate admits it. */
const pendingKey = Symbol('ygg.rollout.pending');

type WithRollout = HandlerContext & {
  [rolloutKey]?: Rollout;
  [pendingKey]?: (ticket: AdmissionTicket) => Rollout;
};

export function pipelineHooks(options: PipelineHooksOptions): PipelineHooks {
  const { pipeline } = options;
  const rolloutTypes = new Set(options.rolloutTypes ?? ['rollout']);
  const now = options.now ?? Date.now;
  const unclaimedMs = options.unclaimedTicketMs ?? 60_000;
  const waiting = new Map<string, { ticket: AdmissionTicket; at: number }>();
  /** Rollouts claimed without a ticket, waiting in their attempt for the gate to admit them. */
  let held = 0;

  const sweep = () => {
    for (const [taskId, entry] of waiting) {
      if (now() - entry.at < unclaimedMs) continue;
      waiting.delete(taskId);
      pipeline.releaseTicket(entry.ticket);
    }
  };

  /** The context's rollout; one claimed without a ticket first waits until the gate admits it. */
  const admitHeld = async (ctx: HandlerContext): Promise<Rollout | undefined> => {
    const c = ctx as WithRollout;
    const begin = c[pendingKey];
    if (!begin) return c[rolloutKey];
    delete c[pendingKey];
    held += 1;
    let ticket: AdmissionTicket;
    try {
      ticket = await pipeline.waitForAdmission({
        signal: ctx.signal,
        onWait: (reason) => ctx.progress(`not admitted: waiting for the ${reason}`),
      });
    } finally {
      held -= 1;
    }
    // Rollouts held behind this one may be admitted now.
    options.kick?.();
    return begin(ticket);
  };

  return {
    admit(_task, type) {
      if (!rolloutTypes.has(type) || !pipeline.gate) return undefined;
      sweep();
      if (held > 0)
        return `staleness gate: ${held} claimed rollout(s) wait for admission first; ${pipeline.gateReason()}`;
      if (pipeline.gate.capacity() > 0) return undefined;
      return pipeline.gateReason();
    },

    launched(task, type) {
      if (!rolloutTypes.has(type)) return;
      // A ticket left from an earlier launch whose claim failed goes back first.
      const earlier = waiting.get(task.id);
      if (earlier) {
        waiting.delete(task.id);
        pipeline.releaseTicket(earlier.ticket);
      }
      const ticket = pipeline.admitRollout();
      if (ticket) waiting.set(task.id, { ticket, at: now() });
    },

    extendContext(ctx, { task, lending }) {
      const config = options.config();
      if (pipeline.toolQueue) {
        ctx.tool = createToolFunction({
          queue: pipeline.toolQueue,
          // The slot is lent while the tool runs (not counted in any loop), then one taken back:
          // perhaps another index, whose GPUs the handler sees from then on.
          releaseSlot: () => lending.lend(),
          reacquireSlot: async () => {
            const gpus = await lending.reclaim();
            if (gpus.length > 0) ctx.gpu = [...gpus];
          },
          releaseOnTool: config.types[ctx.type]?.releaseSlotOnTool ?? true,
          defaults: { taskId: task.id, signal: ctx.signal },
        });
      }
      ctx.onnx = runOnnx;
      if (!rolloutTypes.has(ctx.type)) return;
      const entry = waiting.get(task.id);
      waiting.delete(task.id);
      const begin = (ticket: AdmissionTicket): Rollout => {
        const group = rolloutGroup(task);
        const rollout = pipeline.beginRollout({
          taskId: task.id,
          attempt: ctx.attempt,
          host: ctx.host.name,
          ticket,
          ...(group ? { group } : {}),
        });
        Object.assign(ctx, rollout.extensions());
        (ctx as WithRollout)[rolloutKey] = rollout;
        // A tool no host could run fails the trajectory (the handler still sees the error and decides).
        const tool = ctx.tool as ToolFunction | undefined;
        if (tool) {
          ctx.tool = (async (name, args, callOptions) => {
            const result = await tool(name, args, callOptions);
            if (!result.ok) rollout.recorder.fail(`${name}: ${result.error}`);
            return result;
          }) satisfies ToolFunction;
        }
        return rollout;
      };
      // Without a ticket the rollout is not admitted: it waits for the gate before its handler runs.
      if (entry) begin(entry.ticket);
      else (ctx as WithRollout)[pendingKey] = begin;
    },

    wrapPlugins(plugins) {
      const wrapped = new Map<Plugin, Plugin>();
      const wrap = (p: Plugin) => {
        let w = wrapped.get(p);
        if (!w) {
          w = finishingRollouts(p, admitHeld);
          wrapped.set(p, w);
        }
        return w;
      };
      return {
        ...plugins,
        byName: new Map([...plugins.byName].map(([name, p]) => [name, wrap(p)])),
        byType: new Map([...plugins.byType].map(([type, p]) => [type, wrap(p)])),
      };
    },
  };
}

/** Label prefix naming a rollout's group (`group:NAME`). */
export const groupLabelPrefix = 'group:';

/**
 * The group a rollout's trajectory is compared within for the replay priority (the reward
 * variance of its group): `metadata.ygg.group`, else a `group:NAME` label, else none (the task
 * is its own group). Rollouts of the same problem share one.
 */
export function rolloutGroup(task: Task): string | undefined {
  const group = yggOf(task).group;
  if (typeof group === 'string' && group !== '') return group;
  const label = labelsOf(task).find(
    (l) => l.startsWith(groupLabelPrefix) && l.length > groupLabelPrefix.length,
  );
  return label?.slice(groupLabelPrefix.length);
}

/**
 * The plugin, with the rollout (when the context carries one) admitted before its handler (when
 * it still waits for the gate) and finished after it.
 */
function finishingRollouts(
  plugin: Plugin,
  admitHeld: (ctx: HandlerContext) => Promise<Rollout | undefined>,
): Plugin {
  return {
    ...plugin,
    async run(task, ctx) {
      const rollout = await admitHeld(ctx);
      if (!rollout) return plugin.run(task, ctx);
      let value: HandlerResult | string | undefined;
      try {
        value = await plugin.run(task, ctx);
      } catch (error) {
        await rollout.finish({ error: error instanceof Error ? error.message : String(error) });
        throw error;
      }
      const { trajectory, summary } = await rollout.finish();
      const result: HandlerResult = typeof value === 'string' ? { summary: value } : { ...value };
      result.summary = result.summary ? `${result.summary}\n${summary}` : summary;
      result.metadata = {
        ...result.metadata,
        trajectory: {
          id: trajectory.id,
          policyVersion: trajectory.policyVersion,
          status: trajectory.status,
          ...(trajectory.reward === undefined ? {} : { reward: trajectory.reward }),
        },
      };
      return result;
    },
  };
}
