import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { YggError } from '../../errors.js';

/**
 * ygg's write lock on a Beads file: a proper-lockfile lock (an atomic `mkdir`) at
 * `.ygg/issues.jsonl.lock`, refreshed while held and stale after `staleMs`. The holder writes
 * `owner` (pid, host) inside, so a lock left by a killed process on this host is broken at once
 * instead of after the stale period. Any tool can take the same lock to write safely.
 */
export interface LockOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** A holder that stops refreshing is stale after this long (default 10 s, at least 2 s). */
  staleMs?: number;
}

interface Owner {
  pid: number;
  host: string;
  token: string;
}

// proper-lockfile removes its lock with rmdir; the lock folder also holds our `owner` file.
const lockFs = {
  ...fs,
  rmdir: (path: string, callback: (err: NodeJS.ErrnoException | null) => void) =>
    fs.rm(path, { recursive: true, force: true }, callback),
  rmdirSync: (path: string) => fs.rmSync(path, { recursive: true, force: true }),
};

const pause = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

function readOwner(lockPath: string): Owner | undefined {
  try {
    return JSON.parse(fs.readFileSync(join(lockPath, 'owner'), 'utf8')) as Owner;
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

  /** Takes the lock, waiting for other holders; resolves with its release. */
  async acquire(): Promise<() => Promise<void>> {
    fs.mkdirSync(join(this.lockPath, '..'), { recursive: true });
    const deadline = Date.now() + (this.options.timeoutMs ?? 60_000);
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
        const owner: Owner = { pid: process.pid, host: hostname(), token: `${process.pid}-${Date.now()}` };
        fs.writeFileSync(join(this.lockPath, 'owner'), JSON.stringify(owner));
        return async () => {
          try {
            await release();
          } catch {
            // already released or compromised; nothing left to undo
          }
        };
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
      await pause(wait + Math.random() * wait);
      wait = Math.min(wait * 1.5, 50);
    }
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
