/**
 * One record per running loop in `loops/` under the store's runtime folder (`.ygg/loops/`): who
 * it is, and where its status server listens with its token (so the file is owner-only). Every
 * reader (`monitor`, `hosts`, `list --ready`, a loop's status server gathering its peers) finds
 * all the loops on a store here. A loop removes only its own record; a dead loop's is ignored
 * and removed by whoever reads it.
 *
 * Liveness: a record written on this machine is live while its process is; one from another
 * machine (a store on a shared disk) while its heartbeat is fresh.
 *
 * A store shared by machines (PostgreSQL) keeps the records itself (`store.dispatchers`): every
 * function here takes the store's place, its runtime folder and its records, and uses the
 * store's records when it has them, so a monitor on another machine sees every dispatcher.
 */
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DispatcherRecords } from '../../store/store.js';

export interface LoopRecord {
  /** The loop's lease owner (`machine:pid:start`), also the record's name. */
  owner: string;
  pid: number;
  machine: string;
  startedAt: string;
  version: string;
  /** Rewritten every `loopHeartbeatMs` while the loop runs. */
  heartbeatAt: string;
  /** Where its status server listens; absent with `--no-status`. */
  url?: string;
  host?: string;
  port?: number;
  token?: string;
  /** Slots it holds now, and the tasks it runs (the first few), as of its last heartbeat. */
  slotsInUse?: number;
  running?: string[];
}

/** Where a store's loop records live: its runtime folder, or the store's own records. */
export type LoopsPlace = string | { runtimeDir: string; dispatchers?: DispatcherRecords | undefined };

export const folderOf = (place: LoopsPlace): string => (typeof place === 'string' ? place : place.runtimeDir);
const recordsOf = (place: LoopsPlace): DispatcherRecords | undefined =>
  typeof place === 'string' ? undefined : place.dispatchers;

export const loopsDirName = 'loops';
/** How often a loop rewrites its record. */
export const loopHeartbeatMs = 10_000;
/** A record from another machine older than this is a dead loop's. */
export const loopStaleMs = 6 * loopHeartbeatMs;

export function loopsDir(runtimeDir: string): string {
  return join(runtimeDir, loopsDirName);
}

/** The record's file name: the owner with anything but letters, digits, `.`, `-` and `_` as `_`. */
export function loopRecordPath(runtimeDir: string, owner: string): string {
  return join(loopsDir(runtimeDir), `${owner.replace(/[^\w.-]/g, '_')}.json`);
}

/** Written to a temp file with mode 0600 and renamed, so a reader never sees half of it. */
export async function writeLoopRecord(place: LoopsPlace, record: LoopRecord): Promise<void> {
  const records = recordsOf(place);
  if (records) return records.put(record.owner, record);
  const runtimeDir = folderOf(place);
  await mkdir(loopsDir(runtimeDir), { recursive: true });
  const path = loopRecordPath(runtimeDir, record.owner);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

export async function removeLoopRecord(place: LoopsPlace, owner: string): Promise<void> {
  const records = recordsOf(place);
  if (records) return records.remove(owner);
  await rm(loopRecordPath(folderOf(place), owner), { force: true });
}

/** Whether the loop a record describes still runs. */
export function recordIsLive(record: LoopRecord, now = Date.now()): boolean {
  if (record.machine !== hostname()) return now - Date.parse(record.heartbeatAt) < loopStaleMs;
  try {
    process.kill(record.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The live loops on the store, oldest first. Records of dead loops are removed on the way (a
 * record that cannot be parsed is left alone: it may be one being renamed into place).
 */
export async function liveLoopRecords(place: LoopsPlace, now = Date.now()): Promise<LoopRecord[]> {
  const records = recordsOf(place);
  if (records) return storeRecords(records);
  const runtimeDir = folderOf(place);
  let names: string[];
  try {
    names = await readdir(loopsDir(runtimeDir));
  } catch {
    return [];
  }
  const live: LoopRecord[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const path = join(loopsDir(runtimeDir), name);
    const record = await readFile(path, 'utf8')
      .then((text) => parseRecord(text))
      .catch(() => undefined);
    if (!record) continue;
    if (recordIsLive(record, now)) live.push(record);
    else await rm(path, { force: true }).catch(() => {});
  }
  return live.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.owner.localeCompare(b.owner));
}

/**
 * The store's fresh records (judged on its clock), oldest first; one of this machine whose
 * process is gone is left out at once. A store that cannot be reached has none to show.
 */
async function storeRecords(records: DispatcherRecords): Promise<LoopRecord[]> {
  const rows = await records.live(loopStaleMs).catch(() => []);
  const live = rows
    .map((row) => checkRecord(row))
    .filter((r): r is LoopRecord => r !== undefined && (r.machine !== hostname() || recordIsLive(r)));
  return live.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.owner.localeCompare(b.owner));
}

function parseRecord(text: string): LoopRecord | undefined {
  return checkRecord(JSON.parse(text));
}

function checkRecord(value: unknown): LoopRecord | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const parsed = value as Partial<LoopRecord>;
  if (typeof parsed.owner !== 'string' || typeof parsed.pid !== 'number') return undefined;
  if (typeof parsed.machine !== 'string' || typeof parsed.heartbeatAt !== 'string') return undefined;
  return parsed as LoopRecord;
}

/**
 * Whether a loop's status server may be asked from this machine: another machine's loopback
 * address is not that machine from here (and its token is not sent to whatever listens there).
 */
export function reachableFromHere(record: Pick<LoopRecord, 'machine' | 'url'>): boolean {
  if (!record.url) return false;
  if (record.machine === hostname()) return true;
  try {
    const host = new URL(record.url).hostname;
    return !(host === 'localhost' || host === '[::1]' || host.startsWith('127.'));
  } catch {
    return false;
  }
}

/** How people name a loop: `pid 1234` on this machine, `pid 1234 on other-box` elsewhere. */
export function loopName(record: Pick<LoopRecord, 'pid' | 'machine'>): string {
  return record.machine === hostname() ? `pid ${record.pid}` : `pid ${record.pid} on ${record.machine}`;
}
