/** Errors shared by every layer. Library code throws these; only src/cli exits. */

/** A problem the user can fix; the message says what and how. */
export class YggError extends Error {
  override readonly name: string = 'YggError';
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options?.hint;
  }
  readonly hint: string | undefined;
}

/** The exit status of a command given wrong arguments or options (2, as is conventional). */
export const usageExitCode = 2;

/** The command line itself is wrong (a missing argument, a value no option takes): exit 2. */
export class UsageError extends YggError {
  override readonly name: string = 'UsageError';
}

/** The one wording of "that id names no task", wherever an id is looked up. */
export function noSuchTask(id: string, storePath: string, what = `no task ${id}`): YggError {
  return new YggError(`${what} in ${storePath}`, { hint: '`ygg list` shows the task ids.' });
}

/** Thrown by a handler (or by ygg on its behalf) when retrying cannot help. */
export class NonRetryableError extends Error {
  override readonly name: string = 'NonRetryableError';
}

/** Thrown by commands after printing what went wrong; the CLI entry turns it into an exit code. */
export class ExitError extends Error {
  override readonly name: string = 'ExitError';
  constructor(
    readonly code: number,
    message = `exit ${code}`,
  ) {
    super(message);
  }
}

/** Coerce anything thrown into an Error, keeping the original as `cause`. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : `non-error thrown: ${String(thrown)}`, {
    cause: thrown,
  });
}

/**
 * The wait an error asks for before the next try: a `retryAfterMs` it carries (a model endpoint's
 * 429 or 503 `Retry-After`), on it or on its cause.
 */
export function retryAfterMsOf(error: unknown): number | undefined {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; depth += 1) {
    const value = (e as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
