/**
 * A client of a running loop's status server, found through `status.json` in the runtime folder:
 * the snapshot, the event stream, and the two actions (with the token).
 */
import { YggError } from '../../errors.js';
import { actorHeader } from '../server/actor.js';
import {
  folderOf,
  type LoopRecord,
  type LoopsPlace,
  liveLoopRecords,
  reachableFromHere,
} from '../server/loop-records.js';
import { readStatusFile, type StatusFile } from '../server/status-file.js';
import type { AttemptOutput, StatusSnapshot } from '../snapshot.js';

export interface StatusClient {
  readonly file: StatusFile;
  snapshot(signal?: AbortSignal): Promise<StatusSnapshot>;
  /** Streams events until the signal aborts or the server goes away (then resolves). */
  events(onEvent: (event: string, data: unknown) => void, signal?: AbortSignal): Promise<void>;
  /** `by` names who asks, as the task's record will say (a cancel's `cancelled by`). */
  action(id: string, action: 'cancel' | 'retry', by?: string): Promise<void>;
  /** The latest output of a task running under this loop; undefined when it is not running there. */
  output(id: string, signal?: AbortSignal): Promise<AttemptOutput | undefined>;
}

/**
 * A client of a running loop whose server answers: the one `status.json` names, else any live
 * loop in `.ygg/loops/` (newest first); undefined when none answers. Each loop's server shows
 * every loop on the store.
 */
export async function connectStatus(place: LoopsPlace, timeoutMs = 2000): Promise<StatusClient | undefined> {
  const records = (await liveLoopRecords(place)).reverse();
  const files = [await readStatusFile(folderOf(place)), ...records.map(recordFile)];
  for (const file of files) {
    if (!file) continue;
    const client = statusClient(file);
    try {
      await client.snapshot(AbortSignal.timeout(timeoutMs));
      return client;
    } catch {
      // a stale file: that loop died without removing it
    }
  }
  return undefined;
}

/**
 * A client of the loop running task `id` now (its events and output are that loop's own), else
 * of any loop that answers (the task is not running yet: whichever loop claims it is unknown).
 */
export async function connectStatusFor(place: LoopsPlace, id: string): Promise<StatusClient | undefined> {
  for (const record of await liveLoopRecords(place)) {
    const file = recordFile(record);
    if (!file) continue;
    const own = await fetch(`${file.url}/status?scope=loop`, {
      headers: { authorization: `Bearer ${file.token}` },
      signal: AbortSignal.timeout(2000),
    })
      .then((r) => (r.ok ? (r.json() as Promise<StatusSnapshot>) : undefined))
      .catch(() => undefined);
    if (own?.running.some((r) => r.id === id)) return statusClient(file);
  }
  return connectStatus(place);
}

function recordFile(r: LoopRecord): StatusFile | undefined {
  if (!r.url || !r.token || !r.host || !r.port || !reachableFromHere(r)) return undefined;
  return {
    pid: r.pid,
    host: r.host,
    port: r.port,
    url: r.url,
    token: r.token,
    startedAt: r.startedAt,
    version: r.version,
  };
}

export function statusClient(file: StatusFile): StatusClient {
  const headers = { authorization: `Bearer ${file.token}` };
  return {
    file,
    async snapshot(signal) {
      const response = await fetch(`${file.url}/status`, { headers, signal: signal ?? null });
      if (!response.ok) throw new Error(`status server answered ${response.status}`);
      return (await response.json()) as StatusSnapshot;
    },
    async events(onEvent, signal) {
      const response = await fetch(`${file.url}/events`, { headers, signal: signal ?? null });
      if (!response.ok || !response.body) throw new Error(`status server answered ${response.status}`);
      const parser = sseParser(onEvent);
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body)
          parser(decoder.decode(chunk as Uint8Array, { stream: true }));
      } catch (error) {
        if (!signal?.aborted) throw error;
      }
    },
    async output(id, signal) {
      const response = await fetch(`${file.url}/tasks/${encodeURIComponent(id)}/output`, {
        headers,
        signal: signal ?? null,
      });
      if (response.status === 404) return undefined;
      if (!response.ok) throw new Error(`status server answered ${response.status}`);
      return (await response.json()) as AttemptOutput;
    },
    async action(id, action, by) {
      const response = await fetch(`${file.url}/tasks/${encodeURIComponent(id)}/${action}`, {
        method: 'POST',
        headers: by ? { ...headers, [actorHeader]: encodeURIComponent(by) } : headers,
      });
      if (response.ok) return;
      const body = (await response.json().catch(() => ({}))) as { error?: string };
      throw new YggError(`${action} ${id}: ${body.error ?? `status server answered ${response.status}`}`);
    },
  };
}

/** Feeds text chunks; calls back once per complete `event:`/`data:` block (data parsed as JSON). */
export function sseParser(onEvent: (event: string, data: unknown) => void): (chunk: string) => void {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length === 0) continue;
      try {
        onEvent(event, JSON.parse(data.join('\n')));
      } catch {
        // not JSON: not one of ours
      }
    }
  };
}
