/**
 * What the loops running on a store see now, merged into one view (`list --ready`, `hosts`,
 * `monitor --once`): every live loop in `.ygg/loops/`, else the loop `.ygg/status.json` names.
 */
import { mergedLoopsSnapshot } from '../observe/loop-peers.js';
import { connectStatus } from '../observe/monitor/client.js';
import type { StatusSnapshot } from '../observe/snapshot.js';

export async function liveSnapshot(
  runtimeDir: string,
  timeoutMs = 3000,
): Promise<StatusSnapshot | undefined> {
  const merged = await mergedLoopsSnapshot(runtimeDir, timeoutMs);
  if (merged) return merged.snapshot;
  const client = await connectStatus(runtimeDir, Math.min(timeoutMs, 1500));
  return client?.snapshot(AbortSignal.timeout(timeoutMs)).catch(() => undefined);
}
