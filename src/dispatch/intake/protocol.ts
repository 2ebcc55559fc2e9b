/**
 * The add intake: a loop on the file store listens on a unix socket in its runtime folder, and a
 * command on the same machine hands its adds to it instead of taking the store's lock itself. The
 * loop already holds the lock between its commits, so the add joins its next journal commit and
 * the task is in its memory at once: no wait for the lock, no re-read of the file, no file watch
 * between the add and the claim.
 *
 * One request per connection, one JSON line each way. Queue limits travel as data: the loop
 * checks them under its lock with the same rules `ygg add` uses (see server.ts).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { YggError } from '../../errors.js';
import { QueueFullError, type QueueLimits } from '../../schedule/backpressure.js';
import { BulkQueueFullError } from '../../schedule/batch-backpressure.js';
import type { NewTask } from '../../store/store.js';
import type { Task } from '../../store/task.js';

/** What a command sends: the tasks (without preconditions), the queue limits it found, how to apply them. */
export interface IntakeRequest {
  tasks: Array<Omit<NewTask, 'precondition'>>;
  limits?: QueueLimits;
  /** Several tasks checked against the limits as one batch (`ygg add --from`): all or none. */
  batch: boolean;
}

/** Per task, in request order: the task as written, or why it was refused. */
export type IntakeResult = { task: Task } | { error: WireError };

/** The results, or why the request as a whole was refused. */
export type IntakeReply = { results: IntakeResult[] } | { error: WireError };

/** An error as it crosses the socket: enough to raise the same error on the command's side. */
export interface WireError {
  name: string;
  message: string;
  hint?: string;
  limit?: string;
  max?: number;
  count?: number;
  submitter?: string;
}

export const intakeDirName = 'intake';

export function intakeDir(runtimeDir: string): string {
  return join(runtimeDir, intakeDirName);
}

/** Longest socket path Linux takes (`sun_path` is 108 bytes with its terminating zero). */
export const maxSocketPathBytes = 107;

let opened = 0;

/** This machine in a socket's name: a runtime folder on a shared disk holds other machines' sockets too. */
const machine = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/**
 * A new socket's path: `<opened ms>-<machine>-<pid>-<count>.sock`, so that a dead loop's file
 * never names a live one, the newest sorts first and each machine finds its own (`ownSockets`).
 */
export function newIntakeSocketPath(runtimeDir: string): string {
  opened += 1;
  return join(intakeDir(runtimeDir), `${Date.now()}-${machine}-${process.pid}-${opened}.sock`);
}

/** This machine's sockets among the file names, the most recently opened first, with their loop's pid. */
export function ownSockets(names: readonly string[]): Array<{ name: string; pid: number }> {
  const own: Array<{ name: string; pid: number; openedAt: number }> = [];
  for (const name of names) {
    const parts = /^(\d+)-([0-9a-f]{8})-(\d+)-\d+\.sock$/.exec(name);
    if (parts?.[2] === machine) own.push({ name, pid: Number(parts[3]), openedAt: Number(parts[1]) });
  }
  return own.sort((a, b) => b.openedAt - a.openedAt).map(({ name, pid }) => ({ name, pid }));
}

export function toWire(error: unknown): WireError {
  if (error instanceof QueueFullError)
    return {
      name: error.name,
      message: error.message,
      limit: error.limit,
      max: error.max,
      count: error.count,
      submitter: error.submitter,
    };
  if (error instanceof BulkQueueFullError)
    return { name: error.name, message: error.message, limit: error.limit };
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    name: e instanceof YggError ? 'YggError' : 'Error',
    message: e.message,
    ...(e instanceof YggError && e.hint ? { hint: e.hint } : {}),
  };
}

/** The error the loop raised, raised again on this side with its kind (queue full: exit 75). */
export function fromWire(wire: WireError): Error {
  if (wire.name === 'QueueFullError' && wire.limit && wire.max !== undefined && wire.count !== undefined)
    return new QueueFullError(
      wire.limit as QueueFullError['limit'],
      wire.max,
      wire.count,
      wire.submitter ?? 'anonymous',
    );
  if (wire.name === 'BulkQueueFullError')
    return new BulkQueueFullError(wire.message, wire.limit ?? 'max_size');
  return new YggError(wire.message, wire.hint ? { hint: wire.hint } : {});
}
