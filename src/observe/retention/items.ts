/**
 * What `.ygg/` holds, item by item, sorted into the kinds retention bounds: an item is removed
 * whole (an attempt's artifacts folder, a trajectory segment, a log file), never cut.
 *
 *   artifacts     artifacts/TASK/ATTEMPT/, runs/TASK/STAMP/ (`ygg run`), learner/checkpoint-v*,
 *                 policy/vN.* (policy checkpoints; the sweep keeps the versions rollouts may use)
 *   trajectories  trajectories.jsonl (live, never removed), trajectories.N.jsonl, learner/batch-v*
 *   logs          every entry of logs/
 *
 * Everything else (the store lock, counters, the policy versions' records, the replay buffer,
 * which its capacity bounds) is state: counted, never removed.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { trajectoryLogPath, trajectorySegments } from '../../pipeline/trajectory-log.js';

export const retentionKinds = ['artifacts', 'trajectories', 'logs'] as const;
export type RetentionKind = (typeof retentionKinds)[number];

export interface RuntimeItem {
  kind: RetentionKind;
  /** Where it lives (`artifacts`, `runs`, `trajectory log`, ...): the newest item of each place is kept. */
  place: string;
  path: string;
  bytes: number;
  /** The last write to it or to anything inside it (ms since the epoch). */
  writtenAt: number;
  /** The task it belongs to (artifacts and `ygg run` folders). */
  taskId?: string;
  /** The file being written now (the live trajectory log): counted, never removed. */
  live?: boolean;
  /** A policy checkpoint's version. */
  policyVersion?: number;
}

export interface DiskUse {
  bytes: number;
  writtenAt: number;
}

const missing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

/** Bytes of a file or a folder's files (links counted as themselves, never followed), and its last write. */
export async function diskUse(path: string): Promise<DiskUse> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(path);
  } catch (error) {
    if (missing(error)) return { bytes: 0, writtenAt: 0 };
    throw error;
  }
  const use = { bytes: info.isDirectory() ? 0 : info.size, writtenAt: info.mtimeMs };
  if (!info.isDirectory()) return use;
  for (const entry of await entries(path)) {
    const inner = await diskUse(join(path, entry.name));
    use.bytes += inner.bytes;
    use.writtenAt = Math.max(use.writtenAt, inner.writtenAt);
  }
  return use;
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (missing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
}

async function item(fields: Omit<RuntimeItem, 'bytes' | 'writtenAt'>): Promise<RuntimeItem> {
  return { ...fields, ...(await diskUse(fields.path)) };
}

/** `artifacts/TASK/ATTEMPT` or `runs/TASK/STAMP`: one item per folder two levels down. */
async function perTaskFolders(runtimeDir: string, place: 'artifacts' | 'runs'): Promise<RuntimeItem[]> {
  const root = join(runtimeDir, place);
  const items: Promise<RuntimeItem>[] = [];
  for (const task of await entries(root)) {
    const taskDir = join(root, task.name);
    if (!task.isDirectory()) {
      items.push(item({ kind: 'artifacts', place, path: taskDir }));
      continue;
    }
    for (const run of await entries(taskDir))
      items.push(item({ kind: 'artifacts', place, path: join(taskDir, run.name), taskId: task.name }));
  }
  return Promise.all(items);
}

async function learnerFiles(runtimeDir: string): Promise<RuntimeItem[]> {
  const dir = join(runtimeDir, 'learner');
  const items: Promise<RuntimeItem>[] = [];
  for (const entry of await entries(dir)) {
    const path = join(dir, entry.name);
    if (entry.name.startsWith('batch-'))
      items.push(item({ kind: 'trajectories', place: 'learner batches', path }));
    else if (entry.name.startsWith('checkpoint-'))
      items.push(item({ kind: 'artifacts', place: 'learner checkpoints', path }));
  }
  return Promise.all(items);
}

/** `policy/vN.onnx` (not a `.tmp-PID` copy being written). */
async function policyCheckpoints(runtimeDir: string): Promise<RuntimeItem[]> {
  const dir = join(runtimeDir, 'policy');
  const items: Promise<RuntimeItem>[] = [];
  for (const entry of await entries(dir)) {
    const match = /^v(\d+)(\.[A-Za-z0-9]+)?$/.exec(entry.name);
    if (!match) continue;
    const path = join(dir, entry.name);
    items.push(
      item({ kind: 'artifacts', place: 'policy checkpoints', path, policyVersion: Number(match[1]) }),
    );
  }
  return Promise.all(items);
}

async function trajectoryFiles(runtimeDir: string): Promise<RuntimeItem[]> {
  const live = trajectoryLogPath(runtimeDir);
  const segments = await trajectorySegments(live);
  const items = await Promise.all(
    segments.map((s) => item({ kind: 'trajectories', place: 'trajectory log', path: s.path })),
  );
  const current = await diskUse(live);
  if (current.writtenAt > 0)
    items.push({ kind: 'trajectories', place: 'trajectory log', path: live, live: true, ...current });
  return items;
}

async function logFiles(runtimeDir: string): Promise<RuntimeItem[]> {
  const dir = join(runtimeDir, 'logs');
  return Promise.all(
    (await entries(dir)).map((e) => item({ kind: 'logs', place: 'logs', path: join(dir, e.name) })),
  );
}

/** Every item retention may remove (and the live trajectory log), in no particular order. */
export async function listRuntimeItems(runtimeDir: string): Promise<RuntimeItem[]> {
  const groups = await Promise.all([
    perTaskFolders(runtimeDir, 'artifacts'),
    perTaskFolders(runtimeDir, 'runs'),
    learnerFiles(runtimeDir),
    policyCheckpoints(runtimeDir),
    trajectoryFiles(runtimeDir),
    logFiles(runtimeDir),
  ]);
  return groups.flat();
}
