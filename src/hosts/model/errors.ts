/**
 * How a model request failed. Retryable failures (connection errors, 429, 5xx, a stream cut
 * short, timeouts) are `ModelEndpointError` or `ModelTimeoutError`; a 4xx other than 429 is a
 * `NonRetryableError` quoting what the endpoint answered.
 */
import type { TimeoutName } from './types.js';

/** The endpoint failed in a way a later try may not: connection refused or reset, 429, 5xx. */
export class ModelEndpointError extends Error {
  override readonly name: string = 'ModelEndpointError';
  readonly retryable = true;
  /** HTTP status, when the endpoint answered. */
  readonly status: number | undefined;
  /** The endpoint's own hint for the next try (`Retry-After`), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

const settingOf: Record<TimeoutName, string> = {
  connect: 'timeouts.connect',
  'first-token': 'timeouts.first_token',
  idle: 'timeouts.idle',
  total: 'timeouts.total',
};

/** One of the four limits fired; `timeout` says which. */
export class ModelTimeoutError extends Error {
  override readonly name: string = 'ModelTimeoutError';
  readonly retryable = true;
  constructor(
    readonly timeout: TimeoutName,
    readonly limitMs: number,
    where: string,
  ) {
    super(`${where}: ${timeout} timeout after ${limitMs} ms (the endpoint's ${settingOf[timeout]})`);
  }
}

/** The delay an error asks for before the next try (a 429's `Retry-After`), if any. */
export function retryAfterOf(error: unknown): number | undefined {
  if (error instanceof ModelEndpointError) return error.retryAfterMs;
  return undefined;
}

/**
 * `Retry-After` (seconds or an HTTP date) or `retry-after-ms` as milliseconds; undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Replaces every secret in a text; used on anything an endpoint sends back before it is shown. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('[redacted]');
  return out;
}
