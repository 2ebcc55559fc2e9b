/**
 * Real OpenSSH sshd instances for tests: each with its own config, host key, client key and
 * port on 127.0.0.1, key auth only, and an unprivileged test user. `kill()` takes the host
 * away (listener and sessions); `start()` brings it back on the same port.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostConfig, SandboxSettings, SshSettings } from '../../src/config/types.js';
import { waitUntil } from './wait.js';

export const SSHD = '/usr/sbin/sshd';
/** The unprivileged user tests log in as. */
export const TEST_USER = 'yggtest';
/** The unprivileged user sandboxed commands drop to when tests log in as root. */
export const SANDBOX_USER = 'yggsbx';

/** Installs openssh-server and bubblewrap when missing (as the test script does). */
export function ensureSshTools(): void {
  const missing: string[] = [];
  if (!existsSync(SSHD)) missing.push('openssh-server');
  if (!existsSync('/usr/bin/bwrap')) missing.push('bubblewrap');
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env,
    stdio: 'ignore',
  });
}

/** Creates a login-capable user (locked password, key login allowed) when missing. */
export function ensureUser(name: string): { uid: number; gid: number; home: string } {
  const lookup = () => {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    if (!line) return undefined;
    const [, , uid, gid, , home] = line.split(':');
    return { uid: Number(uid), gid: Number(gid), home: home ?? `/home/${name}` };
  };
  let user = lookup();
  if (!user) {
    try {
      execFileSync('useradd', ['-m', '-d', `/home/${name}`, '-s', '/bin/sh', name], { stdio: 'ignore' });
    } catch {
      // Another test worker made it first.
    }
    user = lookup();
    if (!user) throw new Error(`could not create test user ${name}`);
  }
  // With UsePAM no, a locked account ("!") cannot log in even with a key; "*" can.
  execFileSync('usermod', ['-p', '*', name], { stdio: 'ignore' });
  return user;
}

export async function freePort(): Promise<number> {
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

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Every descendant of a pid, read from /proc. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

export interface ProcessInfo {
  pid: number;
  user: string;
  args: string;
}

/** Processes on this machine (which is every test host) whose command line contains `marker`. */
/**
 * Every process of `user`, zombies included (a fork bomb's children that could not fork again
 * exit at once and wait as zombies for their parent: they still count against the user's
 * process limit, but ps shows them as `[sh] <defunct>`, without the command's text).
 */
export function processesOf(user: string): number[] {
  try {
    const out = execFileSync('ps', ['-u', user, '-o', 'pid='], { encoding: 'utf8' });
    return out
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => pid > 0);
  } catch {
    return []; // ps exits 1 when the user has no process
  }
}

export function processesMatching(marker: string): ProcessInfo[] {
  const out = execFileSync('ps', ['-eo', 'pid=,user:32=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().match(/^(\d+)\s+(\S+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), user: m[2]!, args: m[3]! }))
    .filter((p) => p.args.includes(marker) && p.pid !== process.pid && !p.args.startsWith('ps -eo'));
}

export interface SshdOptions {
  /** sshd's MaxSessions (sshd's default, 10, when unset). */
  maxSessions?: number;
  /** Log in as this user (default the unprivileged test user). */
  user?: string;
}

export class SshdInstance {
  #child: ChildProcess | undefined;
  readonly configFile: string;
  readonly logFile: string;
  readonly hostKeyFile: string;
  readonly clientKeyFile: string;
  readonly knownHostsFile: string;

  constructor(
    readonly dir: string,
    readonly port: number,
    readonly user: string,
  ) {
    this.configFile = join(dir, 'sshd_config');
    this.logFile = join(dir, 'sshd.log');
    this.hostKeyFile = join(dir, 'host_ed25519');
    this.clientKeyFile = join(dir, 'client_ed25519');
    this.knownHostsFile = join(dir, 'known_hosts');
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** `SHA256:...` of the host key, as ygg and ssh-keygen print it. */
  hostFingerprint(): string {
    const [, blob] = readFileSync(`${this.hostKeyFile}.pub`, 'utf8').trim().split(/\s+/);
    return `SHA256:${createHash('sha256')
      .update(Buffer.from(blob ?? '', 'base64'))
      .digest('base64')
      .replace(/=+$/, '')}`;
  }

  async start(): Promise<void> {
    if (this.#child) return;
    const child = spawn(SSHD, ['-D', '-f', this.configFile, '-E', this.logFile], { stdio: 'ignore' });
    this.#child = child;
    let exited = false;
    child.once('exit', () => {
      exited = true;
      if (this.#child === child) this.#child = undefined;
    });
    await waitUntil(async () => exited || (await tcpOpen(this.port)), {
      what: `sshd on port ${this.port}`,
      timeoutMs: 20_000,
    });
    if (exited)
      throw new Error(`sshd did not start: ${await readFile(this.logFile, 'utf8').catch(() => '')}`);
  }

  /** Takes the host away at once: the listener and every session it started. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child?.pid) return;
    const pids = [child.pid, ...descendants(child.pid)];
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await exited;
    this.#child = undefined;
  }

  /** Set when the instance made its own folder (a suite's sshd); `stop()` removes it. */
  ownsDir = false;

  async stop(): Promise<void> {
    await this.kill();
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  sshSettings(overrides: Partial<SshSettings> = {}): SshSettings {
    return {
      address: '127.0.0.1',
      port: this.port,
      user: this.user,
      keyFile: this.clientKeyFile,
      knownHosts: this.knownHostsFile,
      keepaliveMs: 5000,
      maxChannelsPerConnection: 5,
      connectTimeoutMs: 10_000,
      ...overrides,
    };
  }

  hostConfig(name: string, overrides: Partial<HostConfig> = {}): HostConfig {
    return {
      name,
      transport: 'ssh',
      ssh: this.sshSettings(),
      slots: 2,
      roles: ['tools'],
      typeModels: {},
      sandbox: testSandboxSettings(join(this.dir, 'work')),
      probeIntervalMs: 1000,
      probeFailures: 2,
      ...overrides,
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Tight limits so hostile payloads end quickly. */
export function testSandboxSettings(
  workRoot: string,
  overrides: Partial<SandboxSettings> = {},
): SandboxSettings {
  return {
    enabled: true,
    network: false,
    memoryBytes: 256 * 2 ** 20,
    cpuSeconds: 2,
    fileSizeBytes: 8 * 2 ** 20,
    processes: 64,
    tmpBytes: 16 * 2 ** 20,
    diskBytes: 64 * 2 ** 20,
    runAs: SANDBOX_USER,
    workRoot,
    ...overrides,
  };
}

/** Starts a fresh sshd in `dir` (a test's temp dir) on a free port. */
export async function startSshd(dir: string, options: SshdOptions = {}): Promise<SshdInstance> {
  ensureSshTools();
  execFileSync('mkdir', ['-p', '/run/sshd']);
  const user = options.user ?? TEST_USER;
  ensureUser(TEST_USER);
  ensureUser(SANDBOX_USER);
  // sshd reads authorized_keys as the logging-in user, and sandboxed work dirs live below here.
  await chmod(dir, 0o755);
  execFileSync('mkdir', ['-p', '-m', '1777', join(dir, 'work')]);
  await chmod(join(dir, 'work'), 0o1777);
  const instance = new SshdInstance(dir, await freePort(), user);
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'ygg-test-host',
    '-f',
    instance.hostKeyFile,
  ]);
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'ygg-test-client',
    '-f',
    instance.clientKeyFile,
  ]);
  const clientPub = await readFile(`${instance.clientKeyFile}.pub`, 'utf8');
  await writeFile(join(dir, 'authorized_keys'), clientPub, { mode: 0o644 });
  await chmod(join(dir, 'authorized_keys'), 0o644);
  const hostPub = (await readFile(`${instance.hostKeyFile}.pub`, 'utf8')).trim().split(/\s+/);
  await writeFile(instance.knownHostsFile, `[127.0.0.1]:${instance.port} ${hostPub[0]} ${hostPub[1]}\n`);
  const config = [
    `Port ${instance.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${instance.hostKeyFile}`,
    'PidFile none',
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'MaxStartups 100:30:200',
    'Subsystem sftp internal-sftp',
    'LogLevel INFO',
  ];
  if (options.maxSessions !== undefined) config.push(`MaxSessions ${options.maxSessions}`);
  await writeFile(instance.configFile, `${config.join('\n')}\n`);
  await instance.start();
  return instance;
}

/** An sshd shared by a test file (started in beforeAll): its folder goes away on `stop()`. */
export async function startSuiteSshd(name: string, options: SshdOptions = {}): Promise<SshdInstance> {
  const dir = await mkdtemp(join(tmpdir(), `ygg-${name}-`));
  const instance = await startSshd(dir, options);
  instance.ownsDir = true;
  return instance;
}
