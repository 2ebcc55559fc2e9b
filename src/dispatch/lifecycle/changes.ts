/**
 * Every change ygg makes to a task's state, as plain data. A store applies one as a
 * compare-and-swap: the file store under its lock (`applyChange`), a database as a statement.
 * Changes made on behalf of a running attempt carry its lease token (fencing): once the lease
 * was taken over, they are declined and write nothing.
 */
import type { RateLimit } from '../../schedule/rate-limit.js';
import type { AttemptRecord, Task, YggMeta } from '../../store/task.js';

/** Take a ready task (or one whose lease lapsed) for a slot of a host. */
export interface ClaimChange {
  op: 'claim';
  id: string;
  owner: string;
  host: string;
  /** The slot's index on the host: unique among the live leases on it (it picks the GPUs). */
  slot: number;
  /** The task's type, kept on the lease so that type caps can be counted across loops. */
  type: string;
  /** The host's usable slots now: the claim is declined when live leases on it fill them. */
  hostSlots: number;
  /**
   * `hostSlots` is every slot the host has (nothing, such as GPU memory, holds some back): a
   * store that guards the slots itself then makes the same check (see MutationContext).
   */
  allHostSlots?: boolean;
  /** `types.NAME.max_concurrent`: declined when that many of the type hold live leases. */
  typeCap?: number;
  /** `queue.rate_limit`: declined when the submitter's starts in the store reach it (every loop's). */
  rateLimit?: RateLimit;
  leaseMs: number;
  now: number;
}

export interface RenewChange {
  op: 'renew';
  id: string;
  token: number;
  leaseMs: number;
  now: number;
}

/** How an attempt ended, for the changes that close it. */
export interface Ending {
  token: number;
  now: number;
  outcome: NonNullable<AttemptRecord['outcome']>;
  error?: string;
  /** How long the handler ran (kept on the attempt's record). */
  runMs?: number;
  /** Extra bookkeeping to keep under metadata.ygg (result metadata, artifacts...). */
  extra?: Partial<YggMeta>;
}

export interface SucceedChange {
  op: 'succeed';
  id: string;
  ending: Ending;
  closeReason: string;
  comment: string;
}

export interface RetryLaterChange {
  op: 'retry-later';
  id: string;
  ending: Ending;
  nextTryAt: number;
}

export interface DeadLetterChange {
  op: 'dead-letter';
  id: string;
  ending: Ending;
  attempts: number;
  comment: string;
}

/** Shutdown interrupted the attempt (or its claim landed too late): open again, not counted. */
export interface ReleaseChange {
  op: 'release';
  id: string;
  ending: Ending;
  /** Not to be started again before this time (an earlier attempt still has to end). */
  notBefore?: number;
}

/** The earlier attempts with these tokens were ended on their hosts: no longer unended. */
export interface EndedEarlierChange {
  op: 'ended-earlier';
  id: string;
  token: number;
  ended: readonly number[];
}

/** An attempt ended because someone else closed or changed its task: recorded, status kept. */
export interface NoteCancelledChange {
  op: 'note-cancelled';
  id: string;
  token: number;
  by: string;
  runMs?: number;
  now: number;
}

/** `ygg cancel`: closes the task as cancelled (a loop running it sees that and aborts). */
export interface CancelChange {
  op: 'cancel';
  id: string;
  by: string;
  now: number;
}

/** `ygg retry`: a dead letter goes back to the queue with a fresh count of attempts. */
export interface SendBackChange {
  op: 'send-back';
  id: string;
  now: number;
}

/** The queue's boost label was used by this start: stamped once. */
export interface BoostChange {
  op: 'boost';
  id: string;
  token: number;
  now: number;
}

/**
 * A running attempt lends its slot while it waits on a tool (`lent: true`: not counted against
 * the host), or takes it back (`lent: false`: declined while the host is full).
 */
export interface LendSlotChange {
  op: 'lend-slot';
  id: string;
  token: number;
  lent: boolean;
  /** With `lent: false`: the slot index taken back and the host's usable slots now. */
  slot?: number;
  hostSlots?: number;
  now: number;
}

/**
 * Another writer renamed an older copy of the file over ours and so undid our claim or renewal:
 * put the attempt's lease back, as long as nobody else has changed the task since.
 */
export interface ReassertChange {
  op: 'reassert';
  id: string;
  /** The task as we last wrote it. */
  ours: Task;
}

export type TaskChange =
  | ClaimChange
  | RenewChange
  | SucceedChange
  | RetryLaterChange
  | DeadLetterChange
  | ReleaseChange
  | NoteCancelledChange
  | CancelChange
  | SendBackChange
  | BoostChange
  | LendSlotChange
  | ReassertChange
  | EndedEarlierChange;
