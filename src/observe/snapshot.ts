/**
 * The status snapshot: everything the monitor, the web view and `GET /status` show, as plain
 * JSON. The running loop implements `StatusSource`; without a loop, `snapshotFromStore`
 * (store-snapshot.ts) builds the same shape from the task file alone.
 */

import { clipMiddle, plainLine } from '../text/cell.js';
import type { Charts } from './charts/index.js';
import type { EventBus, LearnerState } from './events.js';

/** Bumped when a field changes meaning; readers check it before trusting the rest. */
export const snapshotSchemaVersion = 1;

export type HostState = 'up' | 'down' | 'unknown';

export interface GpuStatus {
  index: number;
  name?: string;
  /** 0..1; absent when unknown. */
  utilization?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  temperatureC?: number;
}

export interface HostStatus {
  name: string;
  state: HostState;
  /** Why the host is down, when it is. */
  error?: string;
  slots: {
    used: number;
    total: number;
    /** Usable now (fewer than total while free GPU memory is short). */
    effective: number;
  };
  draining: boolean;
  /** Last probe round trip. */
  latencyMs?: number;
  gpus: GpuStatus[];
  /** Sandbox protections in force there (`bwrap`, `rlimits`, `timeout`, ...). */
  protections: string[];
}

export interface QueueDepth {
  type: string;
  priority: number;
  count: number;
}

export interface QueueStatus {
  /** Ready tasks waiting for a slot. */
  total: number;
  /** One entry per (type, priority) with at least one task, ordered by priority then type. */
  depth: QueueDepth[];
  /** Tasks waiting for a retry backoff to pass. */
  retrying: number;
}

export interface RunningTask {
  id: string;
  title: string;
  type: string;
  host: string;
  attempt: number;
  startedAt: string;
  elapsedMs: number;
  /** Last `ctx.progress` text. */
  progress?: string;
  /** 0..1 when the handler reported one. */
  fraction?: number;
  /** Progress lines this attempt has written so far (`ygg logs -f` replays those it missed). */
  outputLines?: number;
  /** The loop running it (`pid 1234`), when several loops share the store. */
  loop?: string;
}

/** The latest progress lines of a running attempt: line numbers `first` .. `first + lines.length - 1`. */
export interface AttemptOutput {
  attempt: number;
  host: string;
  first: number;
  lines: string[];
}

export type OutcomeKind = 'succeeded' | 'failed' | 'retry' | 'dead' | 'cancelled' | 'lost';

export interface RecentOutcome {
  id: string;
  title: string;
  type: string;
  host?: string;
  attempt: number;
  outcome: OutcomeKind;
  /** When it ended (ISO). */
  at: string;
  runMs?: number;
  /** One line: the first line of the error, bounded. */
  error?: string;
}

export interface DeadLetter {
  id: string;
  title: string;
  type: string;
  attempts: number;
  error: string;
  at: string;
}

export interface UnroutableTask {
  id: string;
  title: string;
  type: string;
  reason: string;
  /** The loop that gave the reason, when several loops share the store. */
  loop?: string;
}

/** A ready task that is not running, with the loop's one reason for it (`kind`: admission's). */
export interface WaitingTask extends UnroutableTask {
  kind: string;
  priority?: number;
}

/** One loop running on the store, as the merged view lists them. */
export interface LoopSummary {
  /** `pid 1234` (and `on MACHINE` for another machine's). */
  name: string;
  pid: number;
  startedAt: string;
  state?: LoopInfo['state'];
  /** Tasks it runs now; absent when it could not be asked. */
  running?: number;
  /** `live`: its view is merged in; `no-status`: it runs without a status server; `unreachable`: it did not answer. */
  view: 'live' | 'no-status' | 'unreachable';
}

export interface Throughput {
  /** Tasks finished (any outcome but retry) per minute over the recent window. */
  perMinute: number;
  /** Mean ready-to-started wait over the recent window; absent with no starts. */
  meanWaitMs?: number;
  /** Finished since the loop started (or in the store's history, without a loop). */
  done: number;
  succeeded: number;
  failed: number;
}

/** The RL learner pinned to one host (`learner:` in hosts.yaml), when one is configured. */
export interface LearnerStatus {
  host: string;
  /** `waiting-host`: its host is down, so learning waits; `waiting-batch`: too few fresh trajectories. */
  state: LearnerState;
  detail?: string;
  /** When it entered this state (ISO). */
  since: string;
  /** The latest published policy version. */
  policy?: { version: number; batchSize: number; meanReward: number; at: string };
}

export interface LoopInfo {
  /** False when the snapshot was built from the store alone. */
  running: boolean;
  pid?: number;
  startedAt?: string;
  version: string;
  state?: 'starting' | 'running' | 'stopping' | 'stopped';
  /** The lease owner it claims under (`machine:pid:start`). */
  owner?: string;
}

/** The store's database, when a loop finds it unreachable (absent while it answers). */
export interface DatabaseStatus {
  state: 'unreachable';
  /** When it went away (ISO). */
  since: string;
  /** The loop claims nothing until it is back; running attempts go on while their leases allow. */
  claiming: 'paused';
}

export interface StatusSnapshot {
  schema: typeof snapshotSchemaVersion;
  generatedAt: string;
  loop: LoopInfo;
  paused: boolean;
  /** Present while the store's database cannot be reached. */
  database?: DatabaseStatus;
  hosts: HostStatus[];
  queue: QueueStatus;
  running: RunningTask[];
  /** Newest first, bounded. */
  recent: RecentOutcome[];
  deadLetters: { count: number; tasks: DeadLetter[] };
  unroutable: UnroutableTask[];
  /** Every ready task the loop decided not to start now, with why (slot waits too); bounded. */
  waiting?: WaitingTask[];
  throughput: Throughput;
  learner?: LearnerStatus;
  /** Every loop on the store (this one first), when the snapshot merges several loops' views. */
  loops?: LoopSummary[];
}

/** What the running loop hands to the observers (status server, metrics, notifications). */
export interface StatusSource {
  snapshot(): StatusSnapshot;
  /** This loop's own view only (`GET /status?scope=loop`), when `snapshot` merges other loops' too. */
  ownSnapshot?(): StatusSnapshot;
  /**
   * Cancel a queued or running task, recorded as cancelled `by` whoever asked (default: the
   * status server). Rejects with a YggError when there is no such task.
   */
  cancel(id: string, by?: string): Promise<void>;
  /** Send a dead (blocked) task back to the queue. Rejects with a YggError when it is not dead. */
  retry(id: string): Promise<void>;
  /** The web view's charts (queue depth and throughput, slot timeline, GPU sparklines), drawn from this loop's record. */
  charts?(): Charts;
  /** The latest output of a running task's attempt (bounded), when it runs here. */
  output?(id: string): AttemptOutput | undefined;
  readonly bus: EventBus;
}

/** Bounds shared by every producer of snapshots. */
export const snapshotLimits = {
  recent: 50,
  deadLetters: 100,
  unroutable: 100,
  waiting: 1000,
  errorChars: 200,
} as const;

/** First non-empty line of an error for one-line displays, cut in the middle so its cause (the end) stays. */
export function summarizeError(error: string | undefined, max: number = snapshotLimits.errorChars): string {
  if (!error) return '';
  const line =
    error
      .split('\n')
      .map(plainLine)
      .find((l) => l.length > 0) ?? '';
  return clipMiddle(line, max);
}

/** An empty snapshot, the base every producer fills in. */
export function emptySnapshot(loop: LoopInfo, now: Date = new Date()): StatusSnapshot {
  return {
    schema: snapshotSchemaVersion,
    generatedAt: now.toISOString(),
    loop,
    paused: false,
    hosts: [],
    queue: { total: 0, depth: [], retrying: 0 },
    running: [],
    recent: [],
    deadLetters: { count: 0, tasks: [] },
    unroutable: [],
    throughput: { perMinute: 0, done: 0, succeeded: 0, failed: 0 },
  };
}
