/** How a Beads JSONL store is opened, and what it counts. */

export interface BeadsStoreOptions {
  /** The Beads file (`.beads/issues.jsonl`). */
  path: string;
  /** ygg's runtime folder (default: `.ygg/` beside `.beads/`). */
  runtimeDir?: string;
  /** Safety-net poll of the file while someone watches (default 5000 ms). */
  pollIntervalMs?: number;
  /** Gather updates this long before a commit (default 0: the next turn of the event loop). */
  batchWindowMs?: number;
  /**
   * After its last write, `close()` waits this long and checks that no writer without the lock
   * renamed an older copy over ours or appended to the file we replaced (default 250 ms).
   */
  settleMs?: number;
  /** How long our writes are checked against stale writers (default 60 s). */
  clobberWindowMs?: number;
  /** Give up waiting for the write lock after this long (default 60 s). */
  lockTimeoutMs?: number;
  /** A lock holder that stops refreshing the lock is stale after this long (default 10 s). */
  lockStaleMs?: number;
  /**
   * Journal mode (a long-running writer such as the loop): changes are appended to a write-ahead
   * journal (`.ygg/issues.jsonl.wal`) and fsynced, and folded into the Beads file `foldMs` after
   * the first unfolded one, on close, and on open. Every ygg reader sees the journal either way.
   */
  journal?: boolean;
  /** Journal mode: fold this long after the first unfolded write (default 1000 ms). */
  foldMs?: number;
  clock?: () => Date;
}

/** Counters for tests and benchmarks. */
export interface StoreStats {
  /** Lines parsed while reading the file (unchanged lines of a re-read are not parsed again). */
  linesParsed: number;
  /** Whole task objects built from lines on demand. */
  tasksMaterialized: number;
  commits: number;
  reloads: number;
  /** Lines carried over from a replaced file, and writes restored after a stale writer. */
  carriedLines: number;
  repairs: number;
}
