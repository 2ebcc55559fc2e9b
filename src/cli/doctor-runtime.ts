/**
 * `ygg doctor`'s step for this machine's `.ygg/`: the disk each retention kind uses against its
 * limits, and the state retention never removes. A kind over its limit is a WARN: the loop
 * removes the oldest every `retention.interval` while it runs.
 */
import type { RetentionSettings } from '../config/types.js';
import { formatBytes, formatKindUse, runtimeUse } from '../observe/retention/use.js';
import { locateStore } from '../store/open.js';
import type { DoctorStep, HostDiagnosis } from './doctor.js';

export async function runtimeUseStep(
  runtimeDir: string,
  settings: RetentionSettings,
  now = Date.now(),
): Promise<DoctorStep> {
  const use = await runtimeUse(runtimeDir, settings);
  const over = use.kinds.filter(
    (k) => k.bytes > k.limit.maxBytes || (k.oldestAt !== undefined && now - k.oldestAt > k.limit.maxAgeMs),
  );
  const detail = [
    `${runtimeDir} uses ${formatBytes(use.totalBytes)}`,
    ...use.kinds.map((k) => formatKindUse(k, now)),
    `other state ${formatBytes(use.otherBytes)} (never removed)`,
  ].join('; ');
  if (over.length === 0) return { step: 'disk use', status: 'ok', detail };
  return {
    step: 'disk use',
    status: 'warn',
    detail,
    fix: `Past the limits: ${over.map((k) => k.kind).join(', ')}. \`ygg loop\` removes the oldest (the newest of each place stays) every retention.interval while it runs; lower retention.${over[0]!.kind} in hosts.yaml to keep less.`,
  };
}

/** The `.ygg` entry of `ygg doctor`, or none when no store is found from `cwd`. */
export async function runtimeDiagnosis(cwd: string, settings: RetentionSettings): Promise<HostDiagnosis[]> {
  let runtimeDir: string;
  try {
    runtimeDir = locateStore({ cwd }).runtimeDir;
  } catch {
    return [];
  }
  const step = await runtimeUseStep(runtimeDir, settings);
  return [{ host: '.ygg', steps: [step], ok: true }];
}
