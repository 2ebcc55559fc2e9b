/**
 * Where the monitor's snapshots come from: the running loop's event stream when there is one,
 * else the store alone (re-read every second), switching back to live as soon as a loop starts.
 */
import type { LoopsPlace } from '../server/loop-records.js';
import type { StatusSnapshot } from '../snapshot.js';
import { connectStatus, type StatusClient } from './client.js';

export interface FeedUpdate {
  snapshot: StatusSnapshot;
  /** The live client, or undefined when the snapshot came from the store. */
  client?: StatusClient;
}

export interface MonitorFeedOptions {
  /** The store's runtime folder, or the folder and the store's own loop records. */
  runtimeDir: LoopsPlace;
  /** A snapshot from the store alone (re-reads the store as needed). */
  storeSnapshot: () => Promise<StatusSnapshot>;
  onUpdate: (update: FeedUpdate) => void;
  onError?: (error: unknown) => void;
  /** Store re-read and loop discovery interval. Default 1000 ms. */
  intervalMs?: number;
}

/** Runs until the signal aborts. */
export async function runFeed(options: MonitorFeedOptions, signal: AbortSignal): Promise<void> {
  const interval = options.intervalMs ?? 1000;
  while (!signal.aborted) {
    const client = await connectStatus(options.runtimeDir);
    if (client) {
      try {
        await client.events((event, data) => {
          if (event === 'snapshot') options.onUpdate({ snapshot: data as StatusSnapshot, client });
        }, signal);
      } catch (error) {
        if (!signal.aborted) options.onError?.(error);
      }
      continue; // the stream ended: the loop stopped, or reconnect
    }
    try {
      options.onUpdate({ snapshot: await options.storeSnapshot() });
    } catch (error) {
      options.onError?.(error);
    }
    await abortableDelay(interval, signal);
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
