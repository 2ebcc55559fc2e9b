import type { HandlerContext, Plugin } from '../src/plugins/api.js';
import type { Task } from '../src/store/task.js';
import { yggOf } from '../src/store/task.js';

/**
 * Waits the task's simulated model time (`metadata.ygg.simulate_ms`), honouring cancellation:
 * the Python dispatcher's benchmark workload, runnable anywhere.
 */
export const plugin: Plugin = {
  name: 'simulate',
  types: [],
  async run(task: Task, ctx: HandlerContext) {
    const ms = Number(yggOf(task).simulate_ms ?? 0);
    await abortableDelay(ms, ctx.signal);
    return { summary: `simulated ${ms} ms of model time on ${ctx.host.name}` };
  },
};

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
