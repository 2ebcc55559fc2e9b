/**
 * Durable counters per submitter and per type (attempts, evaluations, successes, failures) in
 * the runtime dir (`counters.json`, lowdb). Every change is a read-modify-write under a lock
 * file taken the way the store takes its write lock, so several processes never lose an
 * increment; changes made close together in one process share one write.
 */
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { YggError } from '../errors.js';
import { StoreLock } from '../store/beads-jsonl/store-lock.js';

export const counterFields = ['attempts', 'evaluations', 'successes', 'failures'] as const;
export type CounterField = (typeof counterFields)[number];
export type CounterValues = Record<CounterField, number>;

export interface CountersData {
  submitters: Record<string, CounterValues>;
  types: Record<string, CounterValues>;
  /** ISO time of the last change. */
  updated_at?: string;
}

export interface CounterChange {
  submitter: string;
  type: string;
  field: CounterField;
  /** Default 1. */
  by?: number;
}

export const countersFileName = 'counters.json';

const zero = (): CounterValues => ({ attempts: 0, evaluations: 0, successes: 0, failures: 0 });
const empty = (): CountersData => ({ submitters: {}, types: {} });

export class Counters {
  readonly path: string;
  readonly #lock: StoreLock;
  readonly #now: () => Date;
  #pending: CounterChange[] = [];
  #writing: Promise<void> | undefined;

  readonly #onNotice: (message: string) => void;

  constructor(
    runtimeDir: string,
    options: { now?: () => Date; lockTimeoutMs?: number; onNotice?: (message: string) => void } = {},
  ) {
    this.#onNotice = options.onNotice ?? ((message) => process.stderr.write(`ygg: ${message}\n`));
    this.path = join(runtimeDir, countersFileName);
    this.#lock = new StoreLock(this.path, `${this.path}.lock`, {
      ...(options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs }),
    });
    this.#now = options.now ?? (() => new Date());
  }

  /** The counters in a runtime dir (all empty when none were kept yet). */
  static async read(runtimeDir: string): Promise<CountersData> {
    const path = join(runtimeDir, countersFileName);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return empty();
      throw error;
    }
    try {
      return normalize(JSON.parse(text));
    } catch (error) {
      throw new YggError(`${path} is not valid JSON (${(error as Error).message})`, {
        hint: 'A running loop moves it aside and counts on from zero; or fix it by hand.',
      });
    }
  }

  /** Queues a change; `flush()` (or the next write) makes it durable. */
  add(change: CounterChange): void {
    this.#pending.push(change);
  }

  /** Adds one change and resolves once it is on disk. */
  async increment(change: CounterChange): Promise<void> {
    this.add(change);
    await this.flush();
  }

  /** Writes every queued change: one locked read-modify-write at a time, each taking all queued. */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#writing) {
      if (!this.#writing) {
        this.#writing = this.#write().finally(() => {
          this.#writing = undefined;
        });
      }
      await this.#writing;
    }
  }

  async #write(): Promise<void> {
    const changes = this.#pending;
    this.#pending = [];
    if (changes.length === 0) return;
    await mkdir(join(this.path, '..'), { recursive: true });
    let release: (() => Promise<void>) | undefined;
    try {
      release = await this.#lock.acquire();
      const db = new Low<CountersData>(new JSONFile<CountersData>(this.path), empty());
      try {
        await db.read();
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        // Unreadable counters would stop every later increment: keep the file aside, go on.
        const aside = `${this.path}.corrupt-${this.#now().toISOString().replace(/[:.]/g, '-')}`;
        await rename(this.path, aside);
        this.#onNotice(`${this.path} was not valid JSON; moved to ${aside}, counting on from zero`);
        db.data = empty();
      }
      const data = normalize(db.data);
      for (const change of changes) {
        const by = change.by ?? 1;
        for (const [table, key] of [
          [data.submitters, change.submitter],
          [data.types, change.type],
        ] as const) {
          const values = table[key] ?? zero();
          values[change.field] += by;
          table[key] = values;
        }
      }
      data.updated_at = this.#now().toISOString();
      db.data = data;
      await db.write();
    } catch (error) {
      // Not written: keep them for the next try, ahead of newer ones.
      this.#pending = [...changes, ...this.#pending];
      throw error;
    } finally {
      await release?.();
    }
  }
}

/** Whether a type's successful runs count as evaluations: listed, or named with eval or grader. */
export function isEvalType(type: string, evalTypes: readonly string[] | undefined): boolean {
  if (evalTypes) return evalTypes.includes(type);
  return /eval|grader/i.test(type);
}

function normalize(raw: unknown): CountersData {
  const data = (raw && typeof raw === 'object' ? raw : {}) as Partial<CountersData>;
  const table = (t: unknown): Record<string, CounterValues> => {
    const out: Record<string, CounterValues> = {};
    if (!t || typeof t !== 'object') return out;
    for (const [key, value] of Object.entries(t as Record<string, Partial<CounterValues>>)) {
      out[key] = zero();
      for (const field of counterFields) {
        const n = value?.[field];
        if (typeof n === 'number' && Number.isFinite(n)) out[key][field] = n;
      }
    }
    return out;
  };
  return {
    submitters: table(data.submitters),
    types: table(data.types),
    ...(typeof data.updated_at === 'string' ? { updated_at: data.updated_at } : {}),
  };
}
