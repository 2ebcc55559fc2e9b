/**
 * A running loop's presence on its store: its record in `.ygg/loops/` (rewritten as a heartbeat),
 * a log line naming the loops already running beside it and how they share, and on close its own
 * record removed. `.ygg/status.json` (the newest loop's server, as documented) is handed to a
 * loop still running when the loop it described stops, so readers of it still find one.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import {
  folderOf,
  type LoopRecord,
  type LoopsPlace,
  liveLoopRecords,
  loopHeartbeatMs,
  loopName,
  removeLoopRecord,
  writeLoopRecord,
} from './server/loop-records.js';
import { readStatusFile, writeStatusFile } from './server/status-file.js';

export interface LoopPresence extends AsyncDisposable {
  readonly record: LoopRecord;
  close(): Promise<void>;
}

export async function announceLoop(options: {
  /** The store's runtime folder, or the folder and the store's own loop records. */
  place: LoopsPlace;
  owner: string;
  startedAt: number;
  version: string;
  server?: { url: string; host: string; port: number; token: string };
  logger?: Logger;
  /** What it holds now, written with each heartbeat. */
  activity?: () => Pick<LoopRecord, 'slotsInUse' | 'running'>;
}): Promise<LoopPresence> {
  const { place, server } = options;
  const record: LoopRecord = {
    owner: options.owner,
    pid: process.pid,
    machine: hostname(),
    startedAt: new Date(options.startedAt).toISOString(),
    version: options.version,
    heartbeatAt: new Date().toISOString(),
    ...(server ? { url: server.url, host: server.host, port: server.port, token: server.token } : {}),
    ...options.activity?.(),
  };
  const others = (await liveLoopRecords(place)).filter((r) => r.owner !== record.owner);
  await writeLoopRecord(place, record);
  if (others.length > 0)
    options.logger?.warn(
      { loops_beside: others.map((o) => ({ pid: o.pid, machine: o.machine, url: o.url })) },
      `${others.length === 1 ? 'another loop runs' : `${others.length} other loops run`} on this store (${others.map((o) => `${loopName(o)}, since ${o.startedAt}`).join('; ')}); they share it: each claims ready tasks under its own lease, and hosts' slots and types' max_concurrent hold across all of them. monitor, the web view, hosts and list --ready show every loop`,
    );
  // Said once until a write succeeds again (a database away for minutes is said elsewhere).
  let failing = false;
  const heartbeat = setInterval(() => {
    Object.assign(record, options.activity?.(), { heartbeatAt: new Date().toISOString() });
    writeLoopRecord(place, record).then(
      () => {
        failing = false;
      },
      (error: unknown) => {
        if (!failing)
          options.logger?.warn({ err: error }, 'could not refresh this loop’s record; trying again');
        failing = true;
      },
    );
  }, loopHeartbeatMs);
  heartbeat.unref();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(heartbeat);
      await removeLoopRecord(place, record.owner).catch(() => undefined);
      await handOverStatusFile(place);
    })();
    return closing;
  };
  return { record, close, [Symbol.asyncDispose]: close };
}

/** No status.json (its loop stopped) but a loop with a server runs: point status.json at it. */
async function handOverStatusFile(place: LoopsPlace): Promise<void> {
  const runtimeDir = folderOf(place);
  if (await readStatusFile(runtimeDir)) return;
  const next = (await liveLoopRecords(place)).findLast(
    (r) => r.machine === hostname() && r.url && r.token && r.host && r.port,
  );
  if (!next) return;
  await writeStatusFile(runtimeDir, {
    pid: next.pid,
    host: next.host!,
    port: next.port!,
    url: next.url!,
    token: next.token!,
    startedAt: next.startedAt,
    version: next.version,
  });
}
