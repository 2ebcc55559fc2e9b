/**
 * Runs retention sweeps while `ygg loop` runs: one at start, then one every `retention.interval`
 * (read again before each wait, so a reloaded hosts.yaml applies). Sweeps never overlap; a sweep
 * that fails is reported and the next one runs as planned. States: running -> stopped; `close()`
 * cancels the next wait and lets a sweep in progress finish for up to `finishMs`, then stops it
 * after the item it is removing: a short run still sweeps, a large sweep never holds up shutdown.
 */
import type { RetentionSettings } from '../../config/types.js';
import { type SweepReport, sweepRuntime } from './sweep.js';

export interface SweeperOptions {
  runtimeDir: string;
  /** The settings in force now (the loop's config after each reload). */
  settings: () => RetentionSettings;
  /** Ids of tasks running now. */
  inUse?: () => Iterable<string>;
  /** Policy checkpoints kept (learner.max_staleness + 1); default 2. */
  policyVersionsKept?: () => number;
  now?: () => number;
  onSwept?: (report: SweepReport) => void;
  onError?: (error: unknown) => void;
}

export interface RetentionSweeper extends AsyncDisposable {
  /** `finishMs`: how long a sweep in progress may go on. Default 5 s. */
  close(options?: { finishMs?: number }): Promise<void>;
}

export function startRetention(options: SweeperOptions): RetentionSweeper {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current: Promise<void> | undefined;
  const stopping = new AbortController();

  const sweepOnce = async () => {
    try {
      const report = await sweepRuntime({
        runtimeDir: options.runtimeDir,
        settings: options.settings(),
        ...(options.inUse ? { inUse: options.inUse } : {}),
        ...(options.now ? { now: options.now } : {}),
        ...(options.policyVersionsKept ? { policyVersionsKept: options.policyVersionsKept() } : {}),
        signal: stopping.signal,
      });
      options.onSwept?.(report);
    } catch (error) {
      try {
        options.onError?.(error);
      } catch {
        // A listener that throws cannot stop the sweeps (nor the loop).
      }
    }
  };
  const run = () => {
    current = sweepOnce().finally(() => {
      current = undefined;
      if (stopped) return;
      timer = setTimeout(run, options.settings().intervalMs);
      timer.unref();
    });
  };
  run();

  const close = async ({ finishMs = 5000 }: { finishMs?: number } = {}) => {
    stopped = true;
    clearTimeout(timer);
    if (!current) return;
    if (finishMs <= 0) stopping.abort();
    const cut = setTimeout(() => stopping.abort(), finishMs);
    try {
      await current;
    } finally {
      clearTimeout(cut);
    }
  };
  return { close, [Symbol.asyncDispose]: () => close() };
}
