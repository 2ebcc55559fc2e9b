/**
 * The hosts and slot counts a store shared by machines keeps (PostgreSQL's `ygg_hosts`), so
 * that every dispatcher on it enforces the same slots whatever its own hosts.yaml says.
 */

/** One host as hosts.yaml describes it, for the catalog. */
export interface HostEntry {
  name: string;
  slots: number;
  /** The types routed to the host. */
  types: string[];
  roles: string[];
  gpus?: { indices: number[]; perGpu: number };
  gpuMemoryGb?: number;
}

/** A host as the store has it, with who wrote it last and when. */
export interface HostRecord extends HostEntry {
  updatedAt: string;
  updatedBy: string;
}

/** What a write of the catalog changed, by host name. */
export interface CatalogChange {
  added: string[];
  changed: string[];
  removed: string[];
}

export interface HostCatalog {
  read(): Promise<HostRecord[]>;
  /**
   * Writes the hosts the store does not have yet (a dispatcher starting); the others are left
   * as they are. Returns every host as the store has it afterwards, and what was added.
   */
  addMissing(hosts: readonly HostEntry[], by: string): Promise<{ records: HostRecord[]; added: string[] }>;
  /** Makes the store's hosts exactly these (a deliberate change: `ygg hosts sync`). */
  replace(hosts: readonly HostEntry[], by: string): Promise<CatalogChange>;
  /** Calls `onChange` when the hosts may have changed (any machine's write). Returns a stop function. */
  watch(onChange: () => void): () => void;
}
