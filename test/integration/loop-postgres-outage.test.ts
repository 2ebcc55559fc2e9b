/**
 * A loop on a PostgreSQL store whose database goes away claims nothing until it is back: it does
 * not try claim after claim against a database that cannot answer (each a failed write), it
 * tells the bus once each way, and once the database is back every task is done once.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Loop } from '../../src/dispatch/loop.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { EventBus, type YggEvents } from '../../src/observe/events.js';
import type { Plugin } from '../../src/plugins/api.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { pluginSet } from '../helpers/loop-harness.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

const quick: Plugin = {
  name: 'quick',
  types: ['work'],
  async run() {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return 'done';
  },
};

describe('a loop whose PostgreSQL database goes away', () => {
  it('stops claiming while it is away, tells it once each way, and does every task once after', async () => {
    const dir = await testDir('pg-outage-loop');
    const url = await server.newDatabase();
    const parsed = parseConfig(
      'hosts:\n  surtr: { transport: local, slots: 2 }\ntypes:\n  work: { hosts: [surtr] }\nqueue:\n  lease: 3s\n',
      join(dir, 'hosts.yaml'),
    );
    if (!parsed.config) throw new Error(JSON.stringify(parsed.errors));
    const store = await PostgresStore.open({ url, runtimeDir: join(dir, '.ygg'), pollIntervalMs: 500 });
    const bus = new EventBus();
    const told: YggEvents['store:connection'][] = [];
    bus.on('store:connection', (e) => told.push(e));
    const claimFailures: string[] = [];
    const log = {
      debug() {},
      info() {},
      warn() {},
      error(_fields: unknown, message?: string) {
        if (message === 'claim failed') claimFailures.push(message);
      },
    };
    const loop = new Loop({
      store,
      config: parsed.config,
      plugins: pluginSet(quick),
      bus,
      transport: (host) => new LocalTransport(host.name),
      log,
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++)
        ids.push((await store.add({ title: `job ${i + 1}`, labels: ['work'] })).id);
      await loop.start();
      await new Promise<void>((resolve) => {
        const off = bus.on('task:succeeded', () => {
          off();
          resolve();
        });
      });

      await server.down();
      await waitUntil(() => told.some((e) => e.state === 'lost'), {
        what: 'the loop told the database went away',
      });
      const failedBefore = claimFailures.length;
      // Every attempt running then ends (its outcome cannot be written): its slot is free, ready
      // tasks wait. A loop that went on claiming would try (and fail) again and again by now.
      await waitUntil(() => loop.running.size === 0, {
        what: 'the running attempts to end',
        timeoutMs: 30_000,
      });
      await waitUntil(() => loop.inFlightIds().length === 0, {
        what: 'nothing in flight',
        timeoutMs: 30_000,
      });
      expect(store.ready().length).toBeGreaterThan(0);
      // Their leases still hold their slots; once those lapse, the slots are free for the ready
      // tasks and the loop looks again (its wake-up at the expiry). A loop that claimed while
      // the database is away would now try claim after claim, each failing.
      const expiries = store
        .list(['in_progress'])
        .map((t) => Date.parse(yggOf(t).lease?.expires ?? ''))
        .filter((at) => !Number.isNaN(at));
      const lapsed = Math.max(Date.now(), ...expiries);
      await waitUntil(() => Date.now() > lapsed + 1000, { what: 'the leases to lapse', timeoutMs: 30_000 });
      // At most the claims already on their way when it went (one per slot).
      expect(claimFailures.length - failedBefore).toBeLessThanOrEqual(2);

      await server.up();
      await waitUntil(() => told.some((e) => e.state === 'back'), {
        what: 'the loop told the database is back',
        timeoutMs: 30_000,
      });
      const tasks = await waitUntil(
        async () => {
          await store.refresh().catch(() => undefined);
          const all = ids.map((id) => store.get(id));
          return all.every((t) => t?.status === 'closed') ? (all as Task[]) : false;
        },
        { what: 'every task closed', timeoutMs: 90_000, intervalMs: 250 },
      );
      for (const task of tasks)
        expect(
          (yggOf(task).history ?? []).filter((h) => h.outcome === 'succeeded'),
          `${task.id}'s history`,
        ).toHaveLength(1);
      expect(told.map((e) => e.state)).toEqual(['lost', 'back']);
    } finally {
      await loop.stop({ force: true });
      await store.close();
    }
  }, 180_000);
});
