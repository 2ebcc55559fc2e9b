/** Timers a periodic component uses, injectable so tests control time. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    // A monitor's timer never keeps the process alive by itself.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Runs `task`, rejecting after `ms` on the given timers; the task gets an AbortSignal. */
export function withTimeout<T>(
  timers: Timers,
  ms: number,
  task: (signal: AbortSignal) => Promise<T>,
  message: () => string,
): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const handle = timers.setTimeout(() => {
      const error = new Error(message());
      controller.abort(error);
      reject(error);
    }, ms);
    task(controller.signal).then(
      (value) => {
        timers.clearTimeout(handle);
        resolve(value);
      },
      (error: unknown) => {
        timers.clearTimeout(handle);
        reject(error);
      },
    );
  });
}
