import type { WatchElsewhere } from '../store.js';
import type { Committer } from './committer.js';
import type { WriteJournal } from './journal.js';

const pause = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export interface SettleContext {
  readonly committer: Committer;
  readonly journal: WriteJournal;
  readonly path: string;
  readonly runtimeDir: string;
  readonly settleMs: number;
  /** Set by `settleElsewhere`: who watches for stale writers once this process is gone. */
  readonly watchElsewhere: WatchElsewhere | undefined;
  /** Re-reads the file under the store's chain (queues repairs of what a stale writer undid). */
  refresh(): Promise<void>;
  flush(): Promise<void>;
}

/**
 * close()'s last check against writers without the lock: one that read the file before our last
 * write may still rename its older copy over ours (bd's read-modify-rename), or append to the file
 * we replaced. So close() waits `settleMs` after that write, re-reads, and puts back what such a
 * writer undid. A command that only appended new tasks can hand that watch to another process instead
 * (`settleElsewhere`), which does the same wait and repair, so that the command ends at once.
 */
export async function settleWrites(context: SettleContext): Promise<void> {
  const committedAt = context.committer.lastCommitAt;
  if (committedAt === 0) return;
  if (await handedOver(context, committedAt)) return;
  const wait = committedAt + context.settleMs - Date.now();
  if (wait > 0) await pause(wait);
  for (let round = 0; round < 5; round++) {
    await context.refresh();
    if (!context.committer.hasWork()) break;
    await context.flush();
  }
}

/**
 * Only appends qualify: a rename leaves the replaced file open to late appends that only this
 * process could still read. Any failure to hand over means waiting here, as before.
 */
async function handedOver(context: SettleContext, committedAt: number): Promise<boolean> {
  const { committer, journal, watchElsewhere } = context;
  if (!watchElsewhere || committer.replacedFile || committer.hasWork()) return false;
  const lines = journal.addedOnly();
  if (!lines || lines.length === 0) return false;
  const { path, runtimeDir, settleMs } = context;
  return watchElsewhere({ path, runtimeDir, lines, committedAt, settleMs }).catch(() => false);
}
