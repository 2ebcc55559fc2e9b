/**
 * Policy versions: an atomic counter in the runtime dir (`policy.json`, lowdb, written by
 * temp file and rename, under a file lock so two processes never publish the same number),
 * with one record per version and its checkpoint kept as `policy/vN.onnx`. On a store shared by
 * machines the records are the store's (policy-shared.ts); the checkpoints stay files here.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Low, Memory } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import lockfile from 'proper-lockfile';
import type { SharedState } from '../store/store.js';
import { appendSharedVersion, readSharedVersions } from './policy-shared.js';

export interface PolicyVersion {
  version: number;
  /** ISO time it was published. */
  publishedAt: string;
  /** Trajectories trained on to make it (0 for the initial policy). */
  batchSize: number;
  /** Mean reward of that batch (of the policy before it); null for the initial policy. */
  meanReward: number | null;
  /** Trajectories dropped as stale when its batch was drawn. */
  staleDropped: number;
  /** Checkpoint file, absolute. */
  checkpoint: string;
  /** How long the learner command ran. */
  trainMs?: number;
  /** The host that trained it. */
  host?: string;
}

interface PolicyData {
  versions: PolicyVersion[];
}

export const policyFileName = 'policy.json';

export interface PublishRequest {
  /** A local file; it is copied into the runtime dir's `policy/` folder. */
  checkpointFile: string;
  batchSize: number;
  meanReward: number | null;
  staleDropped?: number;
  trainMs?: number;
  host?: string;
}

export class PolicyStore {
  readonly runtimeDir: string;
  readonly #db: Low<PolicyData>;
  readonly #now: () => Date;
  readonly #shared: SharedState | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(runtimeDir: string, db: Low<PolicyData>, now: () => Date, shared?: SharedState) {
    this.runtimeDir = runtimeDir;
    this.#db = db;
    this.#now = now;
    this.#shared = shared;
  }

  /** `shared`: a store shared by machines keeps the version records (every machine's). */
  static async open(
    runtimeDir: string,
    options: { now?: () => Date; shared?: SharedState | undefined } = {},
  ): Promise<PolicyStore> {
    await mkdir(join(runtimeDir, 'policy'), { recursive: true });
    const now = options.now ?? (() => new Date());
    if (options.shared) {
      const db = new Low<PolicyData>(new Memory<PolicyData>(), { versions: [] });
      const store = new PolicyStore(runtimeDir, db, now, options.shared);
      await store.reload();
      return store;
    }
    const db = new Low<PolicyData>(new JSONFile<PolicyData>(join(runtimeDir, policyFileName)), {
      versions: [],
    });
    await db.read();
    if (!db.data.versions) db.data.versions = [];
    await db.write(); // the lock needs the file to exist
    return new PolicyStore(runtimeDir, db, options.now ?? (() => new Date()));
  }

  /** The versions recorded in a runtime dir, without creating or locking anything (none when absent). */
  static async read(runtimeDir: string, shared?: SharedState): Promise<PolicyVersion[]> {
    if (shared) return readSharedVersions<PolicyVersion>(shared);
    try {
      const data = JSON.parse(
        await readFile(join(runtimeDir, policyFileName), 'utf8'),
      ) as Partial<PolicyData>;
      return Array.isArray(data.versions) ? data.versions : [];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** Every version, oldest first. */
  list(): readonly PolicyVersion[] {
    return this.#db.data.versions;
  }

  /** The newest version, when any. */
  current(): PolicyVersion | undefined {
    return this.#db.data.versions.at(-1);
  }

  /** The current version number; 0 before anything was published. */
  version(): number {
    return this.current()?.version ?? 0;
  }

  /** Re-read the file (another process may have published). */
  async reload(): Promise<void> {
    if (this.#shared) this.#db.data.versions = await readSharedVersions<PolicyVersion>(this.#shared);
    else await this.#db.read();
  }

  /** Record the initial policy as version 0, unless versions exist already. */
  async ensureInitial(checkpointFile: string): Promise<PolicyVersion> {
    const request = { checkpointFile, batchSize: 0, meanReward: null };
    if (this.#shared) return this.#appendShared(request, true);
    return this.#serialized(async () => {
      await this.#db.read();
      const existing = this.current();
      if (existing) return existing;
      return this.#append(0, { checkpointFile, batchSize: 0, meanReward: null });
    });
  }

  /** Publish the next version: number = current + 1, atomically across processes. */
  async publish(request: PublishRequest): Promise<PolicyVersion> {
    if (this.#shared) return this.#appendShared(request, false);
    return this.#serialized(async () => {
      await this.#db.read();
      const next = (this.current()?.version ?? 0) + 1;
      return this.#append(next, request);
    });
  }

  async #append(version: number, request: PublishRequest): Promise<PolicyVersion> {
    const checkpoint = this.#checkpointPath(version, request);
    const temp = `${checkpoint}.tmp-${process.pid}`;
    await copyFile(request.checkpointFile, temp);
    await rename(temp, checkpoint);
    const record = this.#record(version, checkpoint, request);
    this.#db.data.versions.push(record);
    await this.#db.write();
    return record;
  }

  #checkpointPath(version: number, request: PublishRequest): string {
    const ext = extname(request.checkpointFile) || '.onnx';
    return join(this.runtimeDir, 'policy', `v${version}${ext}`);
  }

  /**
   * The next number from the store shared by machines: the checkpoint is copied in first (to a
   * temporary name), the record appended atomically, then the copy renamed to its version.
   */
  async #appendShared(request: PublishRequest, onlyIfEmpty: boolean): Promise<PolicyVersion> {
    const temp = join(this.runtimeDir, 'policy', `publishing-${randomUUID()}.tmp`);
    await copyFile(request.checkpointFile, temp);
    const { versions, added } = await appendSharedVersion(
      this.#shared!,
      (version) => this.#record(version, this.#checkpointPath(version, request), request),
      { onlyIfEmpty },
    );
    if (added) await rename(temp, added.checkpoint);
    else await rm(temp, { force: true });
    this.#db.data.versions = versions;
    return added ?? versions.at(-1)!;
  }

  #record(version: number, checkpoint: string, request: PublishRequest): PolicyVersion {
    return {
      version,
      publishedAt: this.#now().toISOString(),
      batchSize: request.batchSize,
      meanReward: request.meanReward,
      staleDropped: request.staleDropped ?? 0,
      checkpoint,
      ...(request.trainMs === undefined ? {} : { trainMs: request.trainMs }),
      ...(request.host === undefined ? {} : { host: request.host }),
    };
  }

  /** One publication at a time in this process, and under the file lock across processes. */
  #serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = async () => {
      const file = join(this.runtimeDir, policyFileName);
      const release = await lockfile.lock(file, {
        retries: { retries: 50, minTimeout: 20, maxTimeout: 200 },
      });
      try {
        return await work();
      } finally {
        await release();
      }
    };
    const result = this.#chain.then(run, run);
    this.#chain = result.catch(() => undefined);
    return result;
  }
}
