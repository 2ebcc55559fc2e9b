/**
 * One record per running loop in `loops/` under the store's runtime folder (`.ygg/loops/`): who
 * it is, and where its status server listens with its token (so the file is owner-only). Every
 * reader (`monitor`, `hosts`, `list --ready`, a loop's status server gathering its peers) finds
 * all the loops on a store here. A loop removes only its own record; a dead loop's is ignored
 * and removed by whoever reads it.
 *
 * Liveness: a record written on this machine is live while its process is; one from another
 * machine (a store on a shared disk) while its heartbeat is fresh.
 */
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

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
}

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
export async function writeLoopRecord(runtimeDir: string, record: LoopRecord): Promise<void> {
  await mkdir(loopsDir(runtimeDir), { recursive: true });
  const path = loopRecordPath(runtimeDir, record.owner);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

export async function removeLoopRecord(runtimeDir: string, owner: string): Promise<void> {
  await rm(loopRecordPath(runtimeDir, owner), { force: true });
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
export async function liveLoopRecords(runtimeDir: string, now = Date.now()): Promise<LoopRecord[]> {
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

function parseRecord(text: string): LoopRecord | undefined {
  const parsed = JSON.parse(text) as Partial<LoopRecord>;
  if (typeof parsed.owner !== 'string' || typeof parsed.pid !== 'number') return undefined;
  if (typeof parsed.machine !== 'string' || typeof parsed.heartbeatAt !== 'string') return undefined;
  return parsed as LoopRecord;
}

/** How people name a loop: `pid 1234` on this machine, `pid 1234 on other-box` elsewhere. */
export function loopName(record: Pick<LoopRecord, 'pid' | 'machine'>): string {
  return record.machine === hostname() ? `pid ${record.pid}` : `pid ${record.pid} on ${record.machine}`;
}
