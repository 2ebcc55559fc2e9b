/**
 * `ygg doctor`'s step for this machine's `.ygg/`: the disk each retention kind uses against its
 * limits, and the state retention never removes. A WARN when the next sweep would remove items
 * (past a limit: no loop has swept lately); the loop removes them every `retention.interval`.
 */
import type { RetentionSettings, YggConfig } from '../config/types.js';
import { sweepRuntime } from '../observe/retention/sweep.js';
import { formatBytes, formatKindUse, runtimeUse } from '../observe/retention/use.js';
import { locateStore } from '../store/open.js';
import type { DoctorStep, HostDiagnosis } from './doctor-step.js';

export async function runtimeUseStep(
  runtimeDir: string,
  settings: RetentionSettings,
  now = Date.now(),
  policyVersionsKept = 2,
): Promise<DoctorStep> {
  const use = await runtimeUse(runtimeDir, settings);
  // Past a limit means a sweep would remove something (the newest of each place always stays).
  const due = await sweepRuntime({ runtimeDir, settings, now: () => now, dryRun: true, policyVersionsKept });
  const over = due.kinds.filter((k) => k.removed.length > 0);
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
    fix: `Past the limits: ${over.map((k) => `${k.kind} (${k.removed.length} oldest, ${formatBytes(k.freedBytes)})`).join(', ')}. \`ygg loop\` removes them at its next sweep (at start, then every retention.interval).`,
  };
}

/** The `.ygg` entry of `ygg doctor`, or none when no store is found from `cwd`. */
export async function runtimeDiagnosis(cwd: string, config: YggConfig): Promise<HostDiagnosis[]> {
  let runtimeDir: string;
  try {
    runtimeDir = locateStore({ cwd }).runtimeDir;
  } catch {
    return [];
  }
  const step = await runtimeUseStep(
    runtimeDir,
    config.retention,
    Date.now(),
    (config.learner?.maxStaleness ?? 1) + 1,
  );
  return [{ host: '.ygg', steps: [step], ok: true }];
}
