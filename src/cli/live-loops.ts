/**
 * What the loops running on a store see now, merged into one view (`list --ready`, `hosts`,
 * `monitor --once`): every live loop in `.ygg/loops/`, else the loop `.ygg/status.json` names.
 */
import { mergedLoopsSnapshot } from '../observe/loop-peers.js';
import { connectStatus } from '../observe/monitor/client.js';
import type { LoopsPlace } from '../observe/server/loop-records.js';
import type { StatusSnapshot } from '../observe/snapshot.js';

export async function liveSnapshot(place: LoopsPlace, timeoutMs = 3000): Promise<StatusSnapshot | undefined> {
  const merged = await mergedLoopsSnapshot(place, timeoutMs);
  if (merged) return merged.snapshot;
  const client = await connectStatus(place, Math.min(timeoutMs, 1500));
  return client?.snapshot(AbortSignal.timeout(timeoutMs)).catch(() => undefined);
}
