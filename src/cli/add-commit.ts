/**
 * Writes a command's new tasks. A loop on this machine that takes adds (its intake socket) gets
 * them: it holds the store's lock between its commits anyway, so the command waits for no lock
 * and the loop has the tasks in memory at once. Otherwise the command writes the store itself,
 * into a live loop's journal when one runs (hand-off.ts). The queue limits are checked under the
 * store's lock either way, by the same rules.
 */
import { addThroughLoop } from '../dispatch/intake/client.js';
import type { QueueLimits } from '../schedule/backpressure.js';
import { guardAdds } from '../schedule/batch-backpressure.js';
import type { NewTask, TaskStore } from '../store/store.js';
import type { Task } from '../store/task.js';
import { handOffToLiveLoop } from './hand-off.js';

/** Each task's outcome in order: written, or refused (all refused when the limits refuse a batch). */
export async function commitAdds(
  store: TaskStore,
  inputs: readonly NewTask[],
  limits: QueueLimits | undefined,
  batch: boolean,
): Promise<Array<PromiseSettledResult<Task>>> {
  if (store.handOffToLoop) {
    const tasks = inputs.map(({ precondition: _, ...task }) => task);
    const wanted = limits ? onlyLimits(limits) : undefined;
    const viaLoop = await addThroughLoop(store.runtimeDir, {
      tasks,
      batch,
      ...(wanted ? { limits: wanted } : {}),
    });
    if (viaLoop) {
      // This command's own copy then shows them too (its place in the queue, say).
      await store.refresh?.();
      return viaLoop;
    }
  }
  await handOffToLiveLoop(store);
  guardAdds(inputs, limits, batch);
  return Promise.allSettled(inputs.map((input) => store.add(input)));
}

/** The queue's two limits alone (the config's queue section holds more). */
function onlyLimits(limits: QueueLimits): QueueLimits | undefined {
  const only: QueueLimits = {};
  if (limits.maxSize !== undefined) only.maxSize = limits.maxSize;
  if (limits.maxPerSubmitter !== undefined) only.maxPerSubmitter = limits.maxPerSubmitter;
  return only.maxSize === undefined && only.maxPerSubmitter === undefined ? undefined : only;
}
