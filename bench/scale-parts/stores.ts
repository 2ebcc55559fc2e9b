/**
 * The two stores of the scale bench, each handing out fresh empty queues: the Beads file (tasks
 * arrive as lines another writer appends) and PostgreSQL (a server started for the bench as the
 * tests start one: fsync and synchronous_commit on, a unix socket; tasks arrive through another
 * process's store, one transaction per batch of adds).
 */
import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { startPostgres, type TestPostgres, withClient } from '../../test/helpers/postgres.js';
import { issueLine } from '../lib/workspace.js';
import { spikeThroughput } from './spike.js';

export type StoreKind = 'file' | 'postgres';

/** A task of the bench: its handler, whether the dispatchers report its start, how long `hold` waits. */
export interface BenchTask {
  handler: 'noop' | 'hold';
  report?: boolean;
  ms?: number;
}

export interface Queue {
  /** What the dispatchers open: the file's path or the database's URL. */
  store: string;
  /** Its hosts.yaml. */
  config: string;
  /** Adds tasks as another process would; resolves with their ids once they are in. */
  add(tasks: readonly BenchTask[]): Promise<string[]>;
  close(): Promise<void>;
}

export interface BenchStore extends AsyncDisposable {
  kind: StoreKind;
  fresh(): Promise<Queue>;
  /** PostgreSQL: the spike design's tasks/s with `workers` processes of 8, on a fresh database of the same server. */
  baseline?(workers: number, tasks: number): Promise<number>;
}

/** 4 hosts × 16 slots, local; a lease of `leaseS` seconds. */
function hostsYaml(leaseS: number): string {
  const hosts = [1, 2, 3, 4].map((i) => `  node${i}: { transport: local, slots: 16 }`).join('\n');
  return `hosts:\n${hosts}\nqueue:\n  lease: ${leaseS}s\n`;
}

const metadata = (task: BenchTask) => ({
  ygg: { handler: task.handler },
  bench: { report: task.report === true, ms: task.ms ?? 0 },
});

export async function fileStore(leaseS: number): Promise<BenchStore> {
  const dirs: string[] = [];
  let next = 0;
  return {
    kind: 'file',
    async fresh() {
      const dir = await mkdtemp(join(tmpdir(), 'ygg-scale-'));
      dirs.push(dir);
      await mkdir(join(dir, '.beads'));
      const path = join(dir, '.beads', 'issues.jsonl');
      await writeFile(path, '');
      const config = join(dir, 'hosts.yaml');
      await writeFile(config, hostsYaml(leaseS));
      return {
        store: path,
        config,
        async add(tasks) {
          const now = new Date();
          const ids = tasks.map(() => `bench-${(next++).toString(36)}`);
          const lines = tasks.map((task, i) =>
            issueLine(ids[i] as string, true, now, { metadata: metadata(task) }),
          );
          appendFileSync(path, `${lines.join('\n')}\n`);
          return ids;
        },
        async close() {},
      };
    },
    async [Symbol.asyncDispose]() {
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function postgresStore(leaseS: number): Promise<BenchStore> {
  const server: TestPostgres = await startPostgres();
  const dir = await mkdtemp(join(tmpdir(), 'ygg-scale-pg-'));
  const config = join(dir, 'hosts.yaml');
  await writeFile(config, hostsYaml(leaseS));
  // Each measurement starts from a checkpoint: without it, the runs before it leave their WAL to be
  // written back during it (a full bench's 4-dispatcher run paid for the 1- and 2-dispatcher ones).
  const checkpoint = () => withClient(server.url('postgres'), (client) => client.query('CHECKPOINT'));
  return {
    kind: 'postgres',
    async fresh() {
      await checkpoint();
      const url = await server.newDatabase();
      const submitter = await PostgresStore.open({ url, runtimeDir: join(dir, 'submitter') });
      return {
        store: url,
        config,
        async add(tasks) {
          const added = await Promise.all(
            tasks.map((task, i) => submitter.add({ title: `bench task ${i}`, metadata: metadata(task) })),
          );
          return added.map((task) => task.id);
        },
        close: () => submitter.close(),
      };
    },
    async baseline(workers, tasks) {
      await checkpoint();
      return spikeThroughput(await server.newDatabase(), workers, tasks);
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
