/**
 * A real PostgreSQL server for tests: `initdb` into a temporary folder (as the `postgres` user
 * when the tests run as root), a unix socket only, `fsync` and `synchronous_commit` on, trust
 * auth. A template database gets ygg's schema once; each test file asks for its own database
 * copied from it. `stop()` shuts the server down and removes the folder; `restart()` keeps the
 * data (a database going away mid-run).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../../src/store/postgres/migrate.js';

/** The newest Debian `postgresql` server binaries, installed with apt-get when missing (as root). */
export function postgresBin(): string {
  const find = () => {
    const root = '/usr/lib/postgresql';
    if (!existsSync(root)) return undefined;
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
  };
  let bin = find();
  if (!bin && process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'], {
      env,
      stdio: 'ignore',
    });
    bin = find();
  }
  if (!bin) throw new Error('PostgreSQL server binaries not found: apt-get install postgresql');
  return bin;
}

/** The uid/gid to run the server as: `postgres` when we are root (it refuses to run as root). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root but there is no postgres user to run the server as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface TestPostgres {
  /** The folder holding the socket (the URL's `host`). */
  socketDir: string;
  /** A URL for `database` on this server. */
  url(database: string): string;
  /** A fresh database copied from the template with ygg's schema; returns its URL. */
  newDatabase(name?: string): Promise<string>;
  /** Fast shutdown and start again on the same data (connections are cut). */
  restart(): Promise<void>;
  /** Fast shutdown, keeping the data: the database is away until `up()`. */
  down(): Promise<void>;
  /** Starts the server again on the same data after `down()`. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

let counter = 0;

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  const user = serverUser();
  // mkdtemp makes a 0700 folder owned by us: hand it to the server's user.
  const dir = await mkdtemp(join(tmpdir(), 'ygg-pg-'));
  await chmod(dir, 0o711);
  const data = join(dir, 'data');
  const asServer = user ? { uid: user.uid, gid: user.gid } : {};
  if (user) chownSync(dir, user.uid, user.gid);
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'],
    { ...asServer, stdio: 'ignore', cwd: dir },
  );

  let server: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        join(bin, 'postgres'),
        [
          '-D',
          data,
          '-k',
          dir,
          '-c',
          'listen_addresses=',
          '-c',
          'fsync=on',
          '-c',
          'synchronous_commit=on',
          '-c',
          'max_connections=200',
        ],
        { ...asServer, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      server = child;
      let log = '';
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('database system is ready to accept connections')) {
          child.stderr?.off('data', onData);
          child.stderr?.resume();
          resolve();
        }
      };
      child.stderr?.on('data', onData);
      child.once('exit', (code) =>
        reject(new Error(`postgres exited (${code}) before it was ready:\n${log}`)),
      );
    });
  const shutdown = async () => {
    const child = server;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT'); // fast shutdown: cuts sessions, writes a checkpoint
    await exited;
  };
  await start();

  const url = (database: string) => `postgres://postgres@/${database}?host=${encodeURIComponent(dir)}`;
  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url('postgres') });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  await admin((c) => c.query('CREATE DATABASE ygg_template'));
  await migrate(url('ygg_template'));

  return {
    socketDir: dir,
    url,
    async newDatabase(name) {
      const database = name ?? `ygg_test_${process.pid}_${++counter}`;
      await admin((c) => c.query(`CREATE DATABASE ${database} TEMPLATE ygg_template`));
      return url(database);
    },
    async restart() {
      await shutdown();
      await start();
    },
    down: shutdown,
    up: start,
    async stop() {
      await shutdown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` with a client of its own on `url`, closed afterwards (a look at the rows, a direct write). */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
