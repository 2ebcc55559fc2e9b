/** A sweep in the loop's log: a line per kind it removed something from, a warning per failure. */
import type { Logger } from '../logger.js';
import type { SweepReport } from './sweep.js';
import { formatBytes } from './use.js';

export function logSweep(logger: Logger, report: SweepReport): void {
  if (report.rotated) logger.info({ segment: report.rotated }, 'retention: trajectory log rotated');
  for (const k of report.kinds) {
    if (k.removed.length === 0) continue;
    logger.info(
      { kind: k.kind, removed: k.removed.length, freed_bytes: k.freedBytes, bytes: k.bytes },
      `retention: removed the ${k.removed.length} oldest ${k.kind} item${k.removed.length === 1 ? '' : 's'} (${formatBytes(k.freedBytes)}); ${formatBytes(k.bytes)} of ${formatBytes(k.limit.maxBytes)} kept`,
    );
  }
  for (const e of report.errors) logger.warn({ path: e.path }, `retention: could not remove it: ${e.error}`);
}
