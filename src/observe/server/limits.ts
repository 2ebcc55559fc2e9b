/**
 * How much the status server may take, so that a flood of clients sheds its own requests and
 * never the loop: connections bounded well below the process's descriptor limit (the store and
 * the tasks need the rest), requests that must arrive in time, and event streams that must keep
 * up with what they are sent.
 */
import { readFileSync } from 'node:fs';

export interface ServerLimits {
  /** Connections held at once; more are closed as soon as they are accepted. */
  maxConnections: number;
  /** A request whose headers have not all arrived by then is answered 408 and closed. */
  headersTimeoutMs: number;
  /** The same for the whole request, body included. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Event streams open at once; more are answered 503. */
  maxEventStreams: number;
  /** An event stream with more than this waiting to be sent is dropped (the client stopped reading). */
  maxStreamBacklogBytes: number;
}

/** Connections get at most this share of the descriptor limit. */
const descriptorShare = 1 / 4;

export function defaultLimits(descriptors = descriptorLimit()): ServerLimits {
  return {
    maxConnections: Math.max(8, Math.min(256, Math.floor(descriptors * descriptorShare))),
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 5_000,
    maxEventStreams: 32,
    maxStreamBacklogBytes: 1024 * 1024,
  };
}

/** This process's soft limit on open files (Linux reads it from /proc; elsewhere the usual 1024). */
export function descriptorLimit(): number {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line?.[1] === 'unlimited') return Number.MAX_SAFE_INTEGER;
    if (line?.[1]) return Number(line[1]);
  } catch {
    // not Linux, or /proc is not mounted
  }
  return 1024;
}

/**
 * At most one line per `everyMs` for each kind of trouble, counting the ones held back, so a
 * flood of clients cannot flood the log as well.
 */
export function throttledWarnings(
  warn: ((fields: Record<string, unknown>, message: string) => void) | undefined,
  everyMs = 10_000,
  now = () => Date.now(),
): (kind: string, message: string, fields?: Record<string, unknown>) => void {
  const last = new Map<string, { at: number; held: number }>();
  return (kind, message, fields = {}) => {
    if (!warn) return;
    const seen = last.get(kind);
    if (seen && now() - seen.at < everyMs) {
      seen.held += 1;
      return;
    }
    const held = seen?.held ?? 0;
    last.set(kind, { at: now(), held: 0 });
    warn({ ...fields, ...(held > 0 ? { similar_since_last: held } : {}) }, message);
  };
}
