/**
 * A command's cgroup on this machine, handled by ygg itself instead of the wrapper shell SSH
 * hosts run: folders and limits written before the command starts, the command's process moved
 * in while bubblewrap sets up, a CPU watchdog on a timer, and afterwards what it recorded read
 * at once and the folders removed off the command's critical path.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rmdir, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type CgroupDirs,
  type CgroupEvidence,
  type CgroupLimits,
  CPU_PERIOD_US,
  countsCpuTime,
} from './sandbox-cgroup.js';

/** The folders to use, each once (v2 has one folder for all its controllers). */
function distinctDirs(d: CgroupDirs): string[] {
  return [...new Set([d.pids, d.memory, d.cpu, d.cpuacct].filter(Boolean))];
}

/** Writes one cgroup file; a failure names the step, as the wrapper's exit 125 does. */
function put(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (error) {
    throw new Error(`ygg-sandbox: cannot write ${path}: ${(error as Error).message}`);
  }
}

/** Swap limits exist only where the kernel accounts swap: best effort. */
function tryPut(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch {
    // No swap accounting.
  }
}

/**
 * Creates the command's cgroup with its limits (synchronous: a handful of writes to the
 * kernel's own files, cheaper than trips through the thread pool). Throws naming the step.
 */
export function makeCgroupHere(d: CgroupDirs, limits: CgroupLimits): void {
  for (const dir of distinctDirs(d)) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new Error(`ygg-sandbox: cannot create cgroup ${dir}: ${(error as Error).message}`);
    }
  }
  put(`${d.pids}/pids.max`, String(limits.processes));
  const memory = String(limits.memoryBytes);
  if (d.kind === 'v2') {
    if (d.memory) {
      put(`${d.memory}/memory.max`, memory);
      tryPut(`${d.memory}/memory.swap.max`, '0');
    }
    if (d.cpu && limits.quotaUs) put(`${d.cpu}/cpu.max`, `${limits.quotaUs} ${CPU_PERIOD_US}`);
    return;
  }
  if (d.memory) {
    put(`${d.memory}/memory.limit_in_bytes`, memory);
    tryPut(`${d.memory}/memory.memsw.limit_in_bytes`, memory);
  }
  if (d.cpu && limits.quotaUs) {
    put(`${d.cpu}/cpu.cfs_period_us`, String(CPU_PERIOD_US));
    put(`${d.cpu}/cpu.cfs_quota_us`, limits.quotaUs);
  }
}

/**
 * Moves a process into the command's cgroup (every v1 controller; v2's one folder). Through the
 * thread pool: the first move after a quiet spell waits for the kernel (an RCU grace period,
 * 10 to 20 ms here), and the event loop must not wait with it.
 */
export async function joinCgroupHere(d: CgroupDirs, pid: number): Promise<void> {
  for (const dir of d.kind === 'v2' ? [d.pids] : distinctDirs(d)) {
    await writeFile(`${dir}/cgroup.procs`, String(pid)).catch((error: Error) => {
      throw new Error(`ygg-sandbox: cannot join cgroup ${dir}: ${error.message}`);
    });
  }
}

const count = (text: string, key: string) => Number(text.match(new RegExp(`^${key} (\\d+)$`, 'm'))?.[1] ?? 0);
const readNow = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** CPU time of all the cgroup's processes together, in nanoseconds. */
function cpuNsNow(d: CgroupDirs): number {
  return d.kind === 'v2'
    ? count(readNow(`${d.pids}/cpu.stat`), 'usage_usec') * 1000
    : Number(readNow(`${d.cpuacct}/cpuacct.usage`).trim() || 0);
}

/** What the cgroup recorded: read as soon as the command ended, before anything is removed. */
export function cgroupEvidenceHere(d: CgroupDirs): CgroupEvidence {
  return {
    pidsMaxHits: count(readNow(`${d.pids}/pids.events`), 'max'),
    oomKills: d.memory
      ? count(readNow(`${d.memory}/${d.kind === 'v1' ? 'memory.oom_control' : 'memory.events'}`), 'oom_kill')
      : 0,
    cpuNs: cpuNsNow(d),
  };
}

/** Stops forks and kills every process in the cgroup; true when some were left. */
function killAllIn(d: CgroupDirs): boolean {
  const left = readNow(`${d.pids}/cgroup.procs`).split('\n').filter(Boolean);
  for (const pid of left) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  return left.length > 0;
}

/**
 * The CPU limit for all the command's processes together: once a second the cgroup's CPU time
 * is read, and at the limit forks stop and every process in it is killed. Returns its stop.
 */
export function watchCpuHere(d: CgroupDirs, limits: CgroupLimits): () => void {
  if (!limits.cpuLimit || !countsCpuTime(d)) return () => undefined;
  // In the host's unit: µs on v2, ns on v1.
  const limitNs = Number(limits.cpuLimit) * (d.kind === 'v2' ? 1000 : 1);
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    if (ticks > limits.watchSeconds) clearInterval(timer);
    else if (cpuNsNow(d) >= limitNs) {
      clearInterval(timer);
      tryPut(`${d.pids}/pids.max`, '0');
      killAllIn(d);
    }
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Kills what is left in the cgroup and removes its folders (a killed process leaves a moment later). */
export async function removeCgroupHere(d: CgroupDirs): Promise<void> {
  tryPut(`${d.pids}/pids.max`, '0');
  if (d.kind === 'v2') tryPut(`${d.pids}/cgroup.kill`, '1');
  for (let round = 0; round < 100 && killAllIn(d); round++) await delay(50);
  for (const dir of distinctDirs(d)) {
    for (let round = 0; round < 50; round++) {
      const removed = await rmdir(dir).then(
        () => true,
        (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
      );
      if (removed) break;
      await delay(50);
    }
  }
}

/**
 * The whole teardown, for a command that ran without bubblewrap's pid namespace (what it left
 * running is still alive): kill it, read what the cgroup recorded, remove it.
 */
export async function tearDownCgroupHere(d: CgroupDirs): Promise<CgroupEvidence> {
  tryPut(`${d.pids}/pids.max`, '0');
  if (d.kind === 'v2') tryPut(`${d.pids}/cgroup.kill`, '1');
  for (let round = 0; round < 100 && killAllIn(d); round++) await delay(50);
  const evidence = cgroupEvidenceHere(d);
  await removeCgroupHere(d);
  return evidence;
}
