/**
 * A dispatcher's hosts on a store shared by machines: at start (and on each reload of hosts.yaml)
 * the hosts the store does not know yet are written to it; where this hosts.yaml differs from
 * the store's hosts (another dispatcher's), it says so once and follows the store's slots, so
 * every dispatcher enforces the same limits. `ygg hosts sync` changes them deliberately.
 */
import type { YggConfig } from '../config/types.js';
import type { HostCatalog, HostEntry, HostRecord } from '../store/host-catalog.js';
import type { TaskStore } from '../store/store.js';

/** The hosts of hosts.yaml as the catalog keeps them. */
export function hostEntries(config: YggConfig): HostEntry[] {
  return config.hosts.map((host) => {
    const entry: HostEntry = {
      name: host.name,
      slots: host.slots,
      // The types hosts.yaml lists (the built-in ones it does not name run anywhere).
      types: Object.values(config.types)
        .filter((type) => type.declared && type.hosts.includes(host.name))
        .map((type) => type.name)
        .sort(),
      roles: [...host.roles],
    };
    if (host.gpuBinding) entry.gpus = { indices: [...host.gpuBinding.gpus], perGpu: host.gpuBinding.perGpu };
    if (host.gpuMemoryGb !== undefined) entry.gpuMemoryGb = host.gpuMemoryGb;
    return entry;
  });
}

/** Where this hosts.yaml and the store disagree about one host. */
export interface HostDifference {
  host: string;
  /** Slots in this hosts.yaml (absent: the host is not in it). */
  here?: number;
  /** The store's record (absent: the host is not in the store). */
  database?: HostRecord;
}

export function hostDifferences(config: YggConfig, records: readonly HostRecord[]): HostDifference[] {
  const stored = new Map(records.map((r) => [r.name, r]));
  const differences: HostDifference[] = [];
  for (const host of config.hosts) {
    const record = stored.get(host.name);
    if (!record) differences.push({ host: host.name, here: host.slots });
    else if (record.slots !== host.slots)
      differences.push({ host: host.name, here: host.slots, database: record });
  }
  const here = new Set(config.hosts.map((h) => h.name));
  for (const record of records)
    if (!here.has(record.name)) differences.push({ host: record.name, database: record });
  return differences;
}

const slots = (n: number) => `${n} slot${n === 1 ? '' : 's'}`;

/** One plain sentence about a difference (no `ygg: ` prefix). */
export function describeDifference(d: HostDifference): string {
  const record = d.database;
  if (!record) return `host ${d.host} (${slots(d.here ?? 0)}) is in this hosts.yaml but not in the database`;
  const wrote = `written by ${record.updatedBy} at ${record.updatedAt}`;
  if (d.here === undefined)
    return `host ${d.host} is in the database (${slots(record.slots)}, ${wrote}) but not in this hosts.yaml: this dispatcher runs nothing on it`;
  return `host ${d.host} has ${slots(d.here)} in this hosts.yaml but ${record.slots} in the database (${wrote}); following the database's ${record.slots}`;
}

/** The config with each host's slots as the store has them (hosts it does not have keep theirs). */
export function followDatabase(config: YggConfig, records: readonly HostRecord[]): YggConfig {
  const stored = new Map(records.map((r) => [r.name, r.slots]));
  if (!config.hosts.some((h) => stored.has(h.name) && stored.get(h.name) !== h.slots)) return config;
  return {
    ...config,
    hosts: config.hosts.map((host) => {
      const n = stored.get(host.name);
      return n === undefined || n === host.slots ? host : { ...host, slots: n };
    }),
  };
}

/**
 * The config as a command on `store` should judge slots by: on a store shared by machines, each
 * host's slots as the store has them (what every dispatcher follows); otherwise the file's.
 */
export async function withStoreSlots(
  config: YggConfig,
  store: Pick<TaskStore, 'hostCatalog'>,
): Promise<YggConfig> {
  return store.hostCatalog ? followDatabase(config, await store.hostCatalog.read()) : config;
}

export class DatabaseHosts {
  #records: HostRecord[] = [];
  #file: YggConfig | undefined;
  readonly #said = new Set<string>();

  constructor(
    readonly catalog: HostCatalog,
    /** Who writes (the dispatcher's lease owner). */
    readonly by: string,
    /** Told each difference once, as `ygg: ` lines ending with how to change the store's hosts. */
    readonly say: (text: string) => void,
    /** How to make this hosts.yaml the store's (the command to run). */
    readonly hint: string,
  ) {}

  /** Writes the hosts of `config` the store lacks, reads the store's, and says how they differ. */
  async sync(config: YggConfig): Promise<void> {
    this.#file = config;
    const { records } = await this.catalog.addMissing(hostEntries(config), this.by);
    this.#records = records;
    this.#tell();
  }

  /** Reads the store's hosts again (another machine changed them); true when they changed. */
  async refresh(): Promise<boolean> {
    const records = await this.catalog.read();
    const changed = JSON.stringify(records) !== JSON.stringify(this.#records);
    this.#records = records;
    if (changed) this.#tell();
    return changed;
  }

  /** The store's slot count for a host (undefined: the store does not have it). */
  slotsOf(host: string): number | undefined {
    return this.#records.find((r) => r.name === host)?.slots;
  }

  /** `config` with the store's slots. */
  apply(config: YggConfig): YggConfig {
    return followDatabase(config, this.#records);
  }

  #tell(): void {
    if (!this.#file) return;
    const lines = hostDifferences(this.#file, this.#records).map(describeDifference);
    const fresh = lines.filter((line) => !this.#said.has(line));
    for (const line of fresh) this.#said.add(line);
    if (fresh.length > 0) this.say(`${[...fresh, this.hint].map((line) => `ygg: ${line}\n`).join('')}`);
  }
}
