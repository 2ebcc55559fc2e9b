/**
 * A throwaway `redis-server` on 127.0.0.1 in a temp folder: durable (`appendonly yes`,
 * `appendfsync always`, as ygg's store is) or without persistence. Debian's package is installed
 * with apt-get when the binary is missing (the bench's own step; tests never need Redis).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer extends AsyncDisposable {
  port: number;
  durable: boolean;
}

function hasRedis(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs Debian's redis-server (with sudo when not root); throws with the step to take. */
export function ensureRedisInstalled(): void {
  if (hasRedis()) return;
  const asRoot = process.getuid?.() === 0;
  const apt = (args: string[]) =>
    execFileSync(asRoot ? 'apt-get' : 'sudo', asRoot ? args : ['-n', 'apt-get', ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  process.stderr.write('peers: redis-server is missing; installing Debian package redis-server\n');
  try {
    apt(['update']);
    apt(['install', '-y', '--no-install-recommends', 'redis-server']);
  } catch (error) {
    throw new Error(
      `peers: could not install redis-server (${(error as Error).message}); install it (apt-get install redis-server) and run again`,
    );
  }
  if (!hasRedis()) throw new Error('peers: apt-get finished but redis-server is still not on PATH');
}

/** BullMQ 6 connects through ioredis, an optional peer dependency it does not bring along. */
export function ensureRedisClient(): void {
  try {
    redisClientClass();
  } catch {
    throw new Error(
      'peers: BullMQ needs the ioredis package to reach Redis; add it as a dev dependency (npm install --save-dev ioredis) and run again',
    );
  }
}

type RedisClientClass = new (options: Record<string, unknown>) => { quit(): Promise<unknown> };

/**
 * ioredis, loaded as the bench's own dependency (BullMQ's own lookup of it fails under a
 * TypeScript loader); clients are handed to BullMQ already made.
 */
export function redisClientClass(): RedisClientClass {
  const mod = createRequire(import.meta.url)('ioredis') as { default?: RedisClientClass } & RedisClientClass;
  return mod.default ?? mod;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startRedis(durable: boolean): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ygg-bench-redis-'));
  const port = await freePort();
  const persistence = durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child: ChildProcess = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', ...persistence],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
    child.once('error', reject);
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    port,
    durable,
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
