/**
 * The counters of `ygg stats` where the store keeps them: `counters.json` in its runtime folder
 * (the file store), or the store's own (a store shared by machines: every dispatcher's summed).
 * Chosen where the store is opened; the loop's feed and `ygg stats` see one small interface.
 */
import type { CounterAmount, SharedCounters, TaskStore } from '../store/store.js';
import {
  type CounterChange,
  Counters,
  type CountersData,
  type CounterValues,
  counterFields,
} from './counters.js';

/** What the loop's counter feed writes to. */
export interface CounterBook {
  /** Queues a change; `flush()` makes it durable. */
  add(change: CounterChange): void;
  /** Writes every queued change; a failed write keeps them for the next. */
  flush(): Promise<void>;
}

type Place = Pick<TaskStore, 'runtimeDir' | 'counters'>;

export function countersFor(store: Place): CounterBook {
  return store.counters ? new SharedCounterBook(store.counters) : new Counters(store.runtimeDir);
}

export async function readCountersOf(store: Place): Promise<CountersData> {
  if (!store.counters) return Counters.read(store.runtimeDir);
  const data: CountersData = { submitters: {}, types: {} };
  for (const { scope, key, field, value } of await store.counters.read()) {
    if (scope !== 'submitters' && scope !== 'types') continue;
    if (!(counterFields as readonly string[]).includes(field)) continue;
    const table = data[scope];
    table[key] ??= { attempts: 0, evaluations: 0, successes: 0, failures: 0 };
    table[key][field as keyof CounterValues] = value;
  }
  return data;
}

class SharedCounterBook implements CounterBook {
  #pending: CounterChange[] = [];
  #writing: Promise<void> | undefined;

  constructor(readonly shared: SharedCounters) {}

  add(change: CounterChange): void {
    this.#pending.push(change);
  }

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
    const amounts: CounterAmount[] = changes.flatMap((c) => [
      { scope: 'submitters', key: c.submitter, field: c.field, value: c.by ?? 1 },
      { scope: 'types', key: c.type, field: c.field, value: c.by ?? 1 },
    ]);
    try {
      await this.shared.add(amounts);
    } catch (error) {
      // Not written: kept for the next try, ahead of newer ones.
      this.#pending = [...changes, ...this.#pending];
      throw error;
    }
  }
}
