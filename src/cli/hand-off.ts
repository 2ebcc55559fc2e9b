/**
 * A command that writes while a loop runs on the same store (on this machine) hands its writes
 * to that loop: they go to the store's journal, which the loop folds into the Beads file within
 * a second, so the command neither rewrites the file nor waits to check that no writer without
 * the lock undid its write. With no loop running it writes the file itself, and hands that
 * check to a detached guard (stale-writer-guard.ts) when all it wrote was new tasks.
 */
import { hostname } from 'node:os';
import { liveLoopRecords } from '../observe/server/loop-records.js';
import type { TaskStore } from '../store/store.js';
import { guardInAnotherProcess } from './stale-writer-guard.js';

export async function handOffToLiveLoop(store: TaskStore): Promise<void> {
  if (!store.handOffToLoop) return;
  const loops = await liveLoopRecords(store.runtimeDir).catch(() => []);
  if (loops.some((loop) => loop.machine === hostname())) store.handOffToLoop();
  else store.settleElsewhere?.(guardInAnotherProcess);
}
