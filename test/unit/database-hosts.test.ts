/** A dispatcher's hosts.yaml against a shared store's hosts: what it writes, says and follows. */
import { describe, expect, it } from 'vitest';
import {
  describeDifference,
  followDatabase,
  hostDifferences,
  hostEntries,
  withStoreSlots,
} from '../../src/app/database-hosts.js';
import { withStoreDefaults } from '../../src/app/store-defaults.js';
import { parseConfig } from '../../src/config/load.js';
import type { YggConfig } from '../../src/config/types.js';
import type { HostCatalog, HostRecord } from '../../src/store/host-catalog.js';

function config(yaml: string): YggConfig {
  const result = parseConfig(yaml, 'hosts.yaml');
  if (!result.config) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

const here = config(`hosts:
  surtr: { transport: local, slots: 4 }
  fenrir: { transport: local, gpus: [0, 1], slots_per_gpu: 1 }
types:
  code: { hosts: [surtr, fenrir] }
  chat: { hosts: [fenrir] }
`);

const record = (name: string, slots: number): HostRecord => ({
  name,
  slots,
  types: [],
  roles: [],
  updatedAt: '2026-12-03T08:00:00.000Z',
  updatedBy: 'machine-a:41:1796280000000',
});

describe('hosts in a shared store', () => {
  it('writes each host with its slots, the types routed to it, roles and GPUs', () => {
    expect(hostEntries(here)).toEqual([
      { name: 'surtr', slots: 4, types: ['code'], roles: ['inference'] },
      {
        name: 'fenrir',
        slots: 2,
        types: ['chat', 'code'],
        roles: ['inference'],
        gpus: { indices: [0, 1], perGpu: 1 },
      },
    ]);
  });

  it('says where this hosts.yaml differs, naming who wrote the database', () => {
    const stored = [record('surtr', 2), record('fenrir', 2), record('skadi', 2)];
    const lines = hostDifferences(here, stored).map(describeDifference);
    expect(lines).toEqual([
      "host surtr has 4 slots in this hosts.yaml but 2 in the database (written by machine-a:41:1796280000000 at 2026-12-03T08:00:00.000Z); following the database's 2",
      'host skadi is in the database (2 slots, written by machine-a:41:1796280000000 at 2026-12-03T08:00:00.000Z) but not in this hosts.yaml: this dispatcher runs nothing on it',
    ]);
    expect(hostDifferences(here, [record('surtr', 4), record('fenrir', 2)])).toEqual([]);
  });

  it("follows the database's slots; a host it lacks keeps this file's", () => {
    const followed = followDatabase(here, [record('surtr', 2)]);
    expect(followed.hosts.map((h) => [h.name, h.slots])).toEqual([
      ['surtr', 2],
      ['fenrir', 2],
    ]);
    expect(followDatabase(here, [record('surtr', 4)])).toBe(here);
  });

  it('commands judge slots by the store: the database slots on a shared store, else the file slots', async () => {
    const catalog = { read: async () => [record('surtr', 1)] } as unknown as HostCatalog;
    const shared = await withStoreSlots(here, { hostCatalog: catalog });
    expect(shared.hosts.find((h) => h.name === 'surtr')?.slots).toBe(1);
    expect(await withStoreSlots(here, {})).toBe(here);
  });

  it('leases default to 15 s on a store that says so, unless hosts.yaml sets one', () => {
    expect(withStoreDefaults(here, { defaultLeaseMs: 15_000 }).queue.leaseMs).toBe(15_000);
    expect(withStoreDefaults(here, {}).queue.leaseMs).toBe(60_000);
    const set = config('hosts:\n  surtr: { transport: local, slots: 1 }\nqueue:\n  lease: 45s\n');
    expect(withStoreDefaults(set, { defaultLeaseMs: 15_000 }).queue.leaseMs).toBe(45_000);
  });
});
