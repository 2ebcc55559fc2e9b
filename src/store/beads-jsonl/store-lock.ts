import { channel } from 'node:diagnostics_channel';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { YggError } from '../../errors.js';
import { LockReleaseWatch } from './lock-release-watch.js';

/**
 * ygg's write lock on a Beads file: a proper-lockfile lock (an atomic `mkdir`) at
 * `.ygg/issues.jsonl.lock`, refreshed while held and stale after `staleMs`. The holder writes
 * `owner` (pid, host) inside, so a lock left by a killed process on this host is broken at once
 * instead of after the stale period. Any tool can take the same lock to write safely.
 *
 * It is released on every path, also when the process is out of file descriptors (EMFILE): the
 * folder is removed with calls that need none, and retried while it is surely still ours. What
 * goes wrong with a lock this process holds is published on `storeLockChannel`, for whoever
 * logs (the store itself does not).
 */
export interface LockOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** A holder that stops refreshing is stale after this long (default 10 s, at least 2 s). */
  staleMs?: number;
  /** Held longer than this by this process, it is told on `storeLockChannel` (default 20 s). */
  heldTooLongMs?: number;
}

/** What `storeLockChannel` publishes about a lock this process holds or held. */
export interface StoreLockNotice {
  kind: 'held-too-long' | 'released-late' | 'not-removed';
  file: string;
  lockPath: string;
  /** What holds it: this process, and what for. */
  holder: { pid: number; host: string; purpose: string };
  heldMs: number;
  /** For `not-removed`: why the folder could not be removed (it goes stale and is broken later). */
  error?: string;
}

/** Subscribe to hear of store locks held too long or left behind by this process. */
export const storeLockChannel = channel('ygg:store-lock');

interface Owner {
  pid: number;
  host: string;
  token: string;
}

/**
 * Removes a lock folder with calls that open no descriptor (unlink, rmdir), so it works when the
 * process has none left; only a folder holding more than our `owner` file needs a listing.
 */
function removeLockDir(path: string): void {
  try {
    fs.unlinkSync(join(path, 'owner'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  try {
    fs.rmdirSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    fs.rmSync(path, { recursive: true, force: true });
  }
}

// proper-lockfile removes its lock with rmdir; the lock folder also holds our `owner` file. The
// calls are asynchronous (a commit's release then costs the event loop nothing) and need no
// descriptor; the retry on a failed release (`#held`) uses the synchronous `removeLockDir`.
const lockFs = {
  ...fs,
  rmdir: (path: string, callback: (err: NodeJS.ErrnoException | null) => void) => {
    fs.unlink(join(path, 'owner'), (unlinked) => {
      if (unlinked && unlinked.code !== 'ENOENT') return callback(unlinked);
      fs.rmdir(path, (error) => {
        if (!error || error.code === 'ENOENT') return callback(null);
        if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') return callback(error);
        fs.rm(path, { recursive: true, force: true }, (removed) => callback(removed ?? null));
      });
    });
  },
  rmdirSync: removeLockDir,
};

const pause = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function readOwner(lockPath: string): Owner | undefined {
  try {
    return JSON.parse(fs.readFileSync(join(lockPath, 'owner'), 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/** Which folder a lock path is (device, inode, birth): another holder's folder differs. */
function lockIdentity(lockPath: string): string | undefined {
  try {
    const stat = fs.statSync(lockPath, { bigint: true });
    return `${stat.dev}:${stat.ino}:${stat.birthtimeNs}`;
  } catch {
    return undefined;
  }
}

function isDead(owner: Owner): boolean {
  if (owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class StoreLock {
  #compromised: Error | undefined;

  constructor(
    readonly file: string,
    readonly lockPath: string,
    readonly options: LockOptions = {},
  ) {}

  /** Set when the lock was lost while held (a commit must not rename then). */
  get compromised(): Error | undefined {
    return this.#compromised;
  }

  /** Takes the lock, waiting for other holders; resolves with its release (which never throws). */
  async acquire(purpose = `a write of ${basename(this.file)}`): Promise<() => Promise<void>> {
    fs.mkdirSync(join(this.lockPath, '..'), { recursive: true });
    const deadline = Date.now() + (this.options.timeoutMs ?? 60_000);
    const released = new LockReleaseWatch(this.lockPath);
    try {
      return await this.#acquireWaiting(purpose, deadline, released);
    } finally {
      released.stop();
    }
  }

  /** Tries until the lock is ours, waking early when its holder lets go (see LockReleaseWatch). */
  async #acquireWaiting(
    purpose: string,
    deadline: number,
    released: LockReleaseWatch,
  ): Promise<() => Promise<void>> {
    let wait = 2;
    for (;;) {
      try {
        this.#compromised = undefined;
        const release = await lockfile.lock(this.file, {
          lockfilePath: this.lockPath,
          realpath: false,
          stale: this.options.staleMs ?? 10_000,
          fs: lockFs,
          onCompromised: (error) => {
            this.#compromised = error;
          },
        });
        const held = this.#held(release, purpose);
        try {
          const owner: Owner = { pid: process.pid, host: hostname(), token: `${process.pid}-${Date.now()}` };
          await fs.promises.writeFile(join(this.lockPath, 'owner'), JSON.stringify(owner));
        } catch (error) {
          // Taken but not written (EMFILE, a full disk): give it back before saying so.
          await held();
          throw error;
        }
        return held;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
          throw new YggError(`cannot lock ${this.file} (${(error as Error).message})`, {
            cause: error,
            hint: `Check that ${this.lockPath} can be created.`,
          });
        }
      }
      this.#breakIfOwnerDied();
      if (Date.now() > deadline) {
        const owner = readOwner(this.lockPath);
        throw new YggError(`the store ${this.file} stays locked${owner ? ` by pid ${owner.pid}` : ''}`, {
          hint: `If no ygg process is running, remove ${this.lockPath}.`,
        });
      }
      await released.pause(wait + Math.random() * wait);
      wait = Math.min(wait * 1.5, 50);
    }
  }

  /**
   * The release of a lock just taken: it stops the watch for a lock held too long and removes the
   * folder, retrying while no other process can have taken it yet (half the stale period: the
   * folder was refreshed at most that long ago). After that it is stale and anyone breaks it.
   */
  #held(release: () => Promise<void>, purpose: string): () => Promise<void> {
    const since = Date.now();
    const staleMs = Math.max(this.options.staleMs ?? 10_000, 2000);
    const holder = { pid: process.pid, host: hostname(), purpose };
    const notice = (kind: StoreLockNotice['kind'], error?: unknown): void => {
      if (!storeLockChannel.hasSubscribers) return;
      const message: StoreLockNotice = {
        kind,
        file: this.file,
        lockPath: this.lockPath,
        holder,
        heldMs: Date.now() - since,
        ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }),
      };
      storeLockChannel.publish(message);
    };
    let late = false;
    const tooLongMs = this.options.heldTooLongMs ?? 20_000;
    // A timer set mid-turn counts from the event loop's cached clock and may fire a little early:
    // it waits out the rest, so the notice never says less than the limit.
    const check = (): void => {
      const left = since + tooLongMs - Date.now();
      if (left > 0) {
        watch = setTimeout(check, left);
        watch.unref();
        return;
      }
      late = true;
      notice('held-too-long');
    };
    let watch = setTimeout(check, tooLongMs);
    watch.unref();
    const identity = lockIdentity(this.lockPath);
    let released: Promise<void> | undefined;
    const removeOnce = async (): Promise<void> => {
      clearTimeout(watch);
      if (late) notice('released-late');
      try {
        await release();
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ERELEASED' || code === 'ENOTACQUIRED') return; // compromised: not ours now
      }
      const until = Date.now() + staleMs / 2 - 250;
      for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
        if (identity === undefined || lockIdentity(this.lockPath) !== identity) return;
        try {
          removeLockDir(this.lockPath);
          return;
        } catch (error) {
          if (Date.now() + wait > until) return notice('not-removed', error);
        }
        await pause(wait);
      }
    };
    return () => {
      released ??= removeOnce();
      return released;
    };
  }

  /** Breaks a lock whose owner process is gone; breakers take turns through a second mkdir. */
  #breakIfOwnerDied(): void {
    const owner = readOwner(this.lockPath);
    if (!owner || !isDead(owner)) return;
    const breaker = `${this.lockPath}.breaking`;
    try {
      fs.mkdirSync(breaker);
    } catch {
      try {
        if (Date.now() - fs.statSync(breaker).mtimeMs > 5000)
          fs.rmSync(breaker, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      return;
    }
    try {
      const again = readOwner(this.lockPath);
      if (again && again.token === owner.token && isDead(again)) {
        const aside = `${this.lockPath}.dead-${process.pid}-${Date.now()}`;
        fs.renameSync(this.lockPath, aside);
        fs.rmSync(aside, { recursive: true, force: true });
      }
    } catch {
      // someone else cleaned it up
    } finally {
      fs.rmSync(breaker, { recursive: true, force: true });
    }
  }
}
