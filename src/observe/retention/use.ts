/** How much of the disk `.ygg/` uses, per retention kind against its limits (for `ygg doctor`). */
import type { RetentionSettings } from '../../config/types.js';
import { formatDuration } from '../monitor/format.js';
import { diskUse, listRuntimeItems, retentionKinds } from './items.js';
import { type KindUse, kindUse } from './sweep.js';

export interface RuntimeUse {
  kinds: KindUse[];
  /** State retention never removes: counters, policy checkpoints, the replay buffer, the lock. */
  otherBytes: number;
  totalBytes: number;
}

export async function runtimeUse(runtimeDir: string, settings: RetentionSettings): Promise<RuntimeUse> {
  const [items, total] = await Promise.all([listRuntimeItems(runtimeDir), diskUse(runtimeDir)]);
  const kinds = retentionKinds.map((kind) => kindUse(kind, settings[kind], items));
  const counted = kinds.reduce((sum, k) => sum + k.bytes, 0);
  return { kinds, otherBytes: Math.max(0, total.bytes - counted), totalBytes: total.bytes };
}

/** `512 B`, `1.5 KiB`, `20.0 MiB`, `1.0 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `artifacts 20.0 MiB of 1.0 GiB (12 items, oldest 3d04h)`. */
export function formatKindUse(use: KindUse, now: number): string {
  const items = `${use.items} item${use.items === 1 ? '' : 's'}`;
  const oldest = use.oldestAt === undefined ? '' : `, oldest ${formatAge(now - use.oldestAt)}`;
  return `${use.kind} ${formatBytes(use.bytes)} of ${formatBytes(use.limit.maxBytes)} (${items}${oldest}; max age ${formatAge(use.limit.maxAgeMs)})`;
}

/** Days past a day, else the monitor's durations. */
function formatAge(ms: number): string {
  const day = 86_400_000;
  if (ms < day) return formatDuration(Math.max(0, ms));
  const days = Math.floor(ms / day);
  const hours = Math.floor((ms % day) / 3_600_000);
  return hours === 0 ? `${days}d` : `${days}d${String(hours).padStart(2, '0')}h`;
}
