/**
 * One retention sweep of `.ygg/`: rotate the trajectory log when it has grown, then per kind
 * remove the items not written for longer than `max_age` and, while the kind uses more than
 * `max_bytes`, the oldest. Never removed: the newest item of each place, the live trajectory log,
 * the artifacts of tasks running now, and the newest policy checkpoints rollouts may still run
 * (`policyVersionsKept`). Each item goes whole, oldest first.
 */
import { rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RetentionLimit, RetentionSettings } from '../../config/types.js';
import { rotateTrajectoryLog, trajectoryLogPath } from '../../pipeline/trajectory-log.js';
import { listRuntimeItems, type RetentionKind, type RuntimeItem, retentionKinds } from './items.js';

export interface SweepOptions {
  runtimeDir: string;
  settings: RetentionSettings;
  /** Default Date.now. */
  now?: () => number;
  /** Ids of tasks running now: their artifacts are kept whatever their age. */
  inUse?: () => Iterable<string>;
  /** Stops removing (between two items): the rest waits for the next sweep. */
  signal?: AbortSignal;
  /** Report what a sweep would remove, changing nothing (no rotation either). */
  dryRun?: boolean;
  /**
   * Policy checkpoints kept whatever the limits: the newest version and those a rollout admitted
   * within `learner.max_staleness` may still run, so max_staleness + 1. Default 2.
   */
  policyVersionsKept?: number;
}

export interface KindUse {
  kind: RetentionKind;
  limit: RetentionLimit;
  /** Bytes the kind uses (after the sweep, for a sweep's report). */
  bytes: number;
  items: number;
  /** The last write to its oldest item, when it has any. */
  oldestAt?: number;
}

export interface KindSweep extends KindUse {
  removed: string[];
  freedBytes: number;
}

export interface SweepReport {
  kinds: KindSweep[];
  /** A trajectory segment made by this sweep. */
  rotated?: string;
  /** Items that could not be removed (kept; tried again next sweep). */
  errors: Array<{ path: string; error: string }>;
}

/**
 * The trajectory log is rotated at an eighth of its limit, so the segments removed are small
 * next to what is kept, and the limit holds to within one segment while the live file grows.
 */
export function trajectorySegmentBytes(limit: RetentionLimit): number {
  return Math.max(1, Math.floor(limit.maxBytes / 8));
}

/** Use per kind, from a listing. */
export function kindUse(kind: RetentionKind, limit: RetentionLimit, items: readonly RuntimeItem[]): KindUse {
  const mine = items.filter((i) => i.kind === kind);
  const use: KindUse = {
    kind,
    limit,
    bytes: mine.reduce((sum, i) => sum + i.bytes, 0),
    items: mine.length,
  };
  if (mine.length > 0)
    use.oldestAt = mine.reduce((min, i) => Math.min(min, i.writtenAt), Number.POSITIVE_INFINITY);
  return use;
}

/**
 * The items a sweep must keep: the newest of each place, the live log, running tasks' artifacts,
 * the last `policyVersionsKept` policy checkpoints.
 */
function keptItems(
  items: readonly RuntimeItem[],
  running: ReadonlySet<string>,
  policyVersionsKept: number,
): Set<RuntimeItem> {
  const kept = new Set<RuntimeItem>();
  const newestVersion = items.reduce((max, i) => Math.max(max, i.policyVersion ?? 0), 0);
  const oldestKeptVersion = newestVersion - policyVersionsKept + 1;
  const newest = new Map<string, RuntimeItem>();
  for (const i of items) {
    if (i.live || (i.taskId !== undefined && i.place === 'artifacts' && running.has(i.taskId))) kept.add(i);
    if (i.policyVersion !== undefined && i.policyVersion >= oldestKeptVersion) kept.add(i);
    const best = newest.get(i.place);
    if (!best || i.writtenAt > best.writtenAt || (i.writtenAt === best.writtenAt && i.path > best.path))
      newest.set(i.place, i);
  }
  for (const i of newest.values()) kept.add(i);
  return kept;
}

export async function sweepRuntime(options: SweepOptions): Promise<SweepReport> {
  const now = (options.now ?? Date.now)();
  const { settings } = options;
  const report: SweepReport = { kinds: [], errors: [] };
  if (!options.dryRun) {
    const rotated = await rotateTrajectoryLog(
      trajectoryLogPath(options.runtimeDir),
      trajectorySegmentBytes(settings.trajectories),
    );
    if (rotated) report.rotated = rotated;
  }
  const items = await listRuntimeItems(options.runtimeDir);
  const kept = keptItems(items, new Set(options.inUse?.() ?? []), options.policyVersionsKept ?? 2);
  const gone = new Set<RuntimeItem>();
  for (const kind of retentionKinds) {
    const limit = settings[kind];
    const mine = items.filter((i) => i.kind === kind);
    let bytes = mine.reduce((sum, i) => sum + i.bytes, 0);
    const removed: string[] = [];
    let freedBytes = 0;
    const oldestFirst = mine
      .filter((i) => !kept.has(i))
      .sort((a, b) => a.writtenAt - b.writtenAt || a.path.localeCompare(b.path));
    for (const candidate of oldestFirst) {
      if (options.signal?.aborted) break;
      const expired = now - candidate.writtenAt > limit.maxAgeMs;
      if (!expired && bytes <= limit.maxBytes) break;
      try {
        if (!options.dryRun) await remove(candidate);
        gone.add(candidate);
        bytes -= candidate.bytes;
        removed.push(candidate.path);
        freedBytes += candidate.bytes;
      } catch (error) {
        report.errors.push({
          path: candidate.path,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    const left = mine.filter((i) => !gone.has(i));
    report.kinds.push({ ...kindUse(kind, limit, left), removed, freedBytes });
  }
  return report;
}

/** Removes an item whole; a task's folder goes too once its last attempt has gone. */
async function remove(item: RuntimeItem): Promise<void> {
  await rm(item.path, { recursive: true, force: true });
  if (item.taskId === undefined) return;
  try {
    await rmdir(dirname(item.path));
  } catch {
    // Not empty (another attempt is kept, or one is being written): it stays.
  }
}
