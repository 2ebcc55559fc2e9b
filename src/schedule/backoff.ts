import type { BackoffSettings } from '../config/types.js';

/**
 * How long to wait before retrying after the `attempt`-th failure (1-based): exponential in the
 * attempt, capped at `maxMs`, with `jitter` (0..1) of the delay drawn at random so retries of
 * many tasks that failed together spread out. The result stays within
 * `[capped * (1 - jitter), capped]`, so the cap holds even with jitter.
 */
export function retryDelay(
  attempt: number,
  settings: BackoffSettings,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const uncapped = settings.baseMs * settings.factor ** exponent;
  const capped = Math.max(0, Math.min(settings.maxMs, Number.isFinite(uncapped) ? uncapped : settings.maxMs));
  const jitter = Math.min(1, Math.max(0, settings.jitter));
  const draw = Math.min(1, Math.max(0, random()));
  return Math.round(capped * (1 - jitter) + capped * jitter * draw);
}
