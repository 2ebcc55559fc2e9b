/**
 * Why a sandboxed command ended, from its exit status and what it wrote on stderr. Signals
 * arrive either as an exit signal or as 128+N from a wrapper (bwrap, sh, timeout).
 */
import { constants } from 'node:os';
import type { LimitReason } from './transport.js';

// Shells print the last two when a child dies of SIGXFSZ / SIGXCPU and carry on.
const MARKERS: Array<[Exclude<LimitReason, 'time' | 'cancelled'>, RegExp]> = [
  [
    'processes',
    /fork: (retry: )?Resource temporarily unavailable|Cannot fork|can't fork|fork failed|pthread_create.*Resource temporarily unavailable|BlockingIOError/i,
  ],
  ['file-size', /File too large|EFBIG|File size limit exceeded/i],
  ['disk', /No space left on device|ENOSPC|Disk quota exceeded/i],
  ['cpu', /CPU time limit exceeded/i],
  [
    'memory',
    /Cannot allocate memory|MemoryError|out of memory|bad_alloc|memory exhausted|heap out of memory|ENOMEM|failed to allocate|Failed to reserve/i,
  ],
];

/** Watches stderr as it streams (all of it, past the captured bound) for limit messages. */
export class LimitSniffer {
  readonly seen = new Set<LimitReason>();
  #tail = '';

  feed(chunk: string): void {
    // Keep a short tail so a message split across chunks is still seen.
    const text = this.#tail + chunk;
    for (const [reason, pattern] of MARKERS) if (pattern.test(text)) this.seen.add(reason);
    this.#tail = text.slice(-200);
  }
}

function signalNumber(name: string): number | undefined {
  const key = (name.startsWith('SIG') ? name : `SIG${name}`) as keyof typeof constants.signals;
  return constants.signals[key];
}

/** The signal that ended a command, whether reported directly or as a 128+N exit code. */
export function endingSignal(code: number | null, signal: string | null): number | undefined {
  if (signal) return signalNumber(signal);
  if (code !== null && code > 128 && code < 128 + 65) return code - 128;
  return undefined;
}

export interface LimitEvidence {
  code: number | null;
  signal: string | null;
  durationMs: number;
  /** The wall-clock bound it ran under, when any. */
  wallMs?: number;
  /** ygg's own timer fired (the remote `timeout` may be missing). */
  timedOut: boolean;
  markers: ReadonlySet<LimitReason>;
  /** The work directory is a size-bounded tmpfs, so running out of space there is the disk limit. */
  diskBounded?: boolean;
  /** What the command's own cgroup recorded, where it had one. */
  cgroup?: { pidsMaxHits: number; oomKills: number; cpuExhausted?: boolean };
}

/** Which limit ended the command, if one did. */
export function classifyLimit(evidence: LimitEvidence): LimitReason | undefined {
  const sig = endingSignal(evidence.code, evidence.signal);
  if (sig === constants.signals.SIGXCPU || evidence.markers.has('cpu')) return 'cpu';
  if (sig === constants.signals.SIGXFSZ || evidence.markers.has('file-size')) return 'file-size';
  // A fork bomb is cut short by the wall clock, or its main process exits 0 while its children
  // still fork: the limit that contained it is processes, whatever the exit status says.
  if (evidence.markers.has('processes') || (evidence.cgroup?.pidsMaxHits ?? 0) > 0) return 'processes';
  // The watchdog killed it when its processes together used up the CPU limit (a fork bomb's
  // retrying shells do too: the process limit above is the one that contained it).
  const failed = evidence.code !== 0 || evidence.signal !== null;
  if (failed && evidence.cgroup?.cpuExhausted) return 'cpu';
  if ((evidence.cgroup?.oomKills ?? 0) > 0) return 'memory';
  if (evidence.diskBounded && evidence.markers.has('disk')) return 'disk';
  const pastWall = evidence.wallMs !== undefined && evidence.durationMs >= evidence.wallMs;
  if (evidence.timedOut || evidence.code === 124 || (sig === constants.signals.SIGKILL && pastWall)) {
    return 'time';
  }
  if (evidence.markers.has('memory')) return 'memory';
  return undefined;
}

export interface LimitValues {
  wallMs?: number;
  memoryBytes?: number;
  cpuSeconds?: number;
  fileSizeBytes?: number;
  diskBytes?: number;
  processes?: number;
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
const secs = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** The limit in plain words, for results and comments. */
export function describeLimit(reason: LimitReason, limits: LimitValues): string {
  switch (reason) {
    case 'time':
      return limits.wallMs === undefined
        ? 'stopped: it ran past its time limit'
        : `stopped: it ran past its ${secs(limits.wallMs)} wall-clock limit`;
    case 'memory':
      return limits.memoryBytes === undefined
        ? 'ran out of memory'
        : `ran out of memory: the ${mib(limits.memoryBytes)} memory limit refused an allocation`;
    case 'cpu':
      return limits.cpuSeconds === undefined
        ? 'stopped: it used up its CPU time'
        : `stopped: it used up its ${limits.cpuSeconds} s of CPU time`;
    case 'file-size':
      return limits.fileSizeBytes === undefined
        ? 'stopped: it wrote a file past the size limit'
        : `stopped: it wrote a file past the ${mib(limits.fileSizeBytes)} file-size limit`;
    case 'disk':
      return limits.diskBytes === undefined
        ? 'stopped: its work directory is full'
        : `stopped: its work directory is full: the disk limit is ${mib(limits.diskBytes)}`;
    case 'processes':
      return limits.processes === undefined
        ? 'could not start more processes'
        : `could not start more processes: the limit is ${limits.processes}`;
    case 'cancelled':
      return 'cancelled';
  }
}
