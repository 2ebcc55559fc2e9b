/**
 * A cgroup of its own for each sandboxed command, where the host offers one: cgroup v2 (a
 * `ygg` subtree the login user may write, as root always) or v1 controllers mounted one per
 * folder (writable by root). The cgroup counts only this command's processes and memory, so a
 * fork bomb meets its own limit and not its neighbours', and its `pids.events` says afterwards
 * whether the process limit was hit, even when the main process exited 0. Its CPU time is
 * counted for all its processes together: a watchdog ends the command when the sum reaches the
 * CPU limit (the per-process rlimit alone lets N processes take N times the limit).
 *
 * Setup runs in the wrapper shell on the host (fixed text, every value a separate argument);
 * teardown is a second fixed script: kill what is left, report the events, remove the cgroup.
 * On this machine the same steps run in ygg itself, without a shell (`sandbox-cgroup-local.ts`).
 */

/** Where per-command cgroups go on a host, as the probe found it. */
export type CgroupSupport =
  | { kind: 'v2'; base: string; controllers: Array<'memory' | 'cpu'> }
  | { kind: 'v1'; pids: string; memory?: string; cpu?: string; cpuacct?: string };

/** The folders of one command's cgroup, one per controller ('' where the host has none). */
export interface CgroupDirs {
  kind: 'v1' | 'v2';
  pids: string;
  memory: string;
  cpu: string;
  /** v1's CPU time accounting (v2 keeps it in the pids folder's `cpu.stat`). */
  cpuacct: string;
}

/** What one command's cgroup is set to (the values the wrapper's `ygg_cgroup` takes). */
export interface CgroupLimits {
  processes: number;
  /** The memory bound, tmpfs files included. */
  memoryBytes: number;
  /** CPU quota in µs per `CPU_PERIOD_US` ('' for none). */
  quotaUs: string;
  /** The CPU limit in the host's unit (`cpuLimitInHostUnits`), '' where the host does not count it. */
  cpuLimit: string;
  /** Seconds the CPU watchdog lasts at most. */
  watchSeconds: number;
}

/** What the cgroup recorded about a finished command. */
export interface CgroupEvidence {
  /** Forks refused by `pids.max`. */
  pidsMaxHits: number;
  /** Processes the kernel killed at the memory limit. */
  oomKills: number;
  /** CPU time of all its processes together, in nanoseconds. */
  cpuNs: number;
}

/** The folders for the command called `runId`. */
export function cgroupDirs(support: CgroupSupport, runId: string): CgroupDirs {
  if (support.kind === 'v2') {
    const dir = `${support.base}/${runId}`;
    return {
      kind: 'v2',
      pids: dir,
      memory: support.controllers.includes('memory') ? dir : '',
      cpu: support.controllers.includes('cpu') ? dir : '',
      cpuacct: '',
    };
  }
  const at = (base: string | undefined) => (base ? `${base}/${runId}` : '');
  return {
    kind: 'v1',
    pids: at(support.pids),
    memory: at(support.memory),
    cpu: at(support.cpu),
    cpuacct: at(support.cpuacct),
  };
}

/** Whether the host counts the cgroup's CPU time (so the watchdog can hold its CPU limit). */
export function countsCpuTime(dirs: CgroupDirs): boolean {
  return dirs.kind === 'v2' || dirs.cpuacct !== '';
}

/** The CPU limit in the unit the host counts in: ns in v1's cpuacct.usage, µs in v2's cpu.stat. */
export function cpuLimitInHostUnits(dirs: CgroupDirs, cpuSeconds: number): string {
  return String(dirs.kind === 'v2' ? cpuSeconds * 1e6 : cpuSeconds * 1e9);
}

/** CFS period the quota is a share of (the kernel's default). */
export const CPU_PERIOD_US = 100_000;

/**
 * Shell text (for `sh -c`) that creates the cgroup and moves the shell itself into it, so
 * everything it execs next is counted there. Positional: $1 kind, $2 pids dir, $3 memory dir,
 * $4 cpu dir, $5 cpuacct dir, $6 process limit, $7 memory bytes, $8 CPU quota in µs per period,
 * $9 CPU limit in the host's unit, $10 seconds the watchdog lasts at most ('' for none).
 * Defined as function `ygg_cgroup`; exits 125 when a step fails, naming it on stderr.
 *
 * The watchdog starts before the shell joins the cgroup, so it is not counted there: once a
 * second it reads the cgroup's CPU time and, at the limit, stops forks and kills every process
 * in it. It ends when the cgroup is removed, or after its bound.
 */
export const CGROUP_SETUP = `ygg_cgroup() {
  k=$1 p=$2 m=$3 c=$4 a=$5 n=$6 b=$7 q=$8 l=$9 t=\${10}
  mkdir -p -- "$p" \${m:+"$m"} \${c:+"$c"} \${a:+"$a"} || { echo "ygg-sandbox: cannot create cgroup $p" >&2; exit 125; }
  # Swap limits exist only where the kernel accounts swap: best effort.
  if [ "$k" = v2 ]; then
    echo "$n" > "$p/pids.max" || exit 125
    [ -z "$m" ] || echo "$b" > "$m/memory.max" || exit 125
    [ -z "$m" ] || { echo 0 > "$m/memory.swap.max"; } 2>/dev/null || :
    [ -z "$c" ] || [ -z "$q" ] || echo "$q ${CPU_PERIOD_US}" > "$c/cpu.max" || exit 125
  else
    echo "$n" > "$p/pids.max" || exit 125
    [ -z "$m" ] || echo "$b" > "$m/memory.limit_in_bytes" || exit 125
    [ -z "$m" ] || { echo "$b" > "$m/memory.memsw.limit_in_bytes"; } 2>/dev/null || :
    [ -z "$c" ] || [ -z "$q" ] || { echo ${CPU_PERIOD_US} > "$c/cpu.cfs_period_us" && echo "$q" > "$c/cpu.cfs_quota_us"; } || exit 125
  fi
  [ -z "$l" ] || (
    exec </dev/null >/dev/null 2>&1
    i=0
    while [ $i -lt "$t" ] && sleep 1 && [ -d "$p" ]; do
      i=$((i + 1)) u=0
      if [ "$k" = v2 ]; then
        while read -r key v; do [ "$key" = usage_usec ] && u=$v; done < "$p/cpu.stat"
      else
        read -r u < "$a/cpuacct.usage"
      fi
      [ "$u" -lt "$l" ] && continue
      echo 0 > "$p/pids.max"
      while read -r pid; do kill -9 "$pid"; done < "$p/cgroup.procs"
      break
    done
  ) &
  [ "$k" = v2 ] && m= c= a=
  for d in "$p" "$m" "$c" "$a"; do
    [ -z "$d" ] || echo $$ > "$d/cgroup.procs" || { echo "ygg-sandbox: cannot join cgroup $d" >&2; exit 125; }
  done
}`;

/**
 * Removes a command's cgroup: stops new forks, kills every process left in it (a detached
 * child, a fork bomb's remains), prints `pids_max=N` and `oom_kill=N`, removes the folders,
 * `cpu_ns=N`, removes the folders, then the work directory when one is named. $1 kind, $2 pids,
 * $3 memory, $4 cpu, $5 cpuacct, $6 workdir.
 */
const TEARDOWN = `
k=$1 p=$2 m=$3 c=$4 a=$5 w=$6
if [ -n "$p" ] && [ -d "$p" ]; then
  echo 0 > "$p/pids.max" 2>/dev/null
  [ "$k" = v2 ] && [ -f "$p/cgroup.kill" ] && echo 1 > "$p/cgroup.kill" 2>/dev/null
  n=0
  while [ $n -lt 100 ]; do
    left=
    while read -r pid; do left=1; kill -9 "$pid" 2>/dev/null; done < "$p/cgroup.procs"
    [ -z "$left" ] && break
    n=$((n + 1)); sleep 0.05
  done
  while read -r key value; do [ "$key" = max ] && echo "pids_max=$value"; done < "$p/pids.events"
  if [ "$k" = v2 ]; then
    while read -r key value; do [ "$key" = usage_usec ] && echo "cpu_ns=\${value}000"; done < "$p/cpu.stat"
  elif [ -n "$a" ] && read -r value < "$a/cpuacct.usage"; then
    echo "cpu_ns=$value"
  fi
fi
if [ -n "$m" ] && [ -d "$m" ]; then
  f="$m/memory.events"; [ "$k" = v1 ] && f="$m/memory.oom_control"
  while read -r key value; do [ "$key" = oom_kill ] && echo "oom_kill=$value"; done < "$f"
fi
seen=
for d in "$p" "$m" "$c" "$a"; do
  [ -n "$d" ] || continue
  case "$seen" in *"|$d|"*) continue ;; esac
  seen="$seen|$d|"
  n=0
  until rmdir -- "$d" 2>/dev/null || [ ! -d "$d" ] || [ $n -ge 50 ]; do n=$((n + 1)); sleep 0.05; done
done
[ -z "$w" ] || rm -rf -- "$w"
`;

/** The argv that tears down a command's cgroup (and removes `workdir` when given). */
export function cgroupTeardownArgv(dirs: CgroupDirs | undefined, workdir: string | undefined): string[] {
  const d = dirs ?? { kind: 'v1', pids: '', memory: '', cpu: '', cpuacct: '' };
  return ['sh', '-c', TEARDOWN, 'ygg-sandbox-end', d.kind, d.pids, d.memory, d.cpu, d.cpuacct, workdir ?? ''];
}

/** Reads the teardown's output. */
export function parseCgroupEvidence(stdout: string): CgroupEvidence {
  const value = (key: string) => Number(stdout.match(new RegExp(`^${key}=(\\d+)$`, 'm'))?.[1] ?? 0);
  return { pidsMaxHits: value('pids_max'), oomKills: value('oom_kill'), cpuNs: value('cpu_ns') };
}

/**
 * Probe text (runs inside the capability probe): finds a cgroup hierarchy where this login can
 * create a child and move a process into it, and prints `cgroup=v1|v2` with its folders. It
 * also removes command cgroups left behind by a teardown that never ran (ygg killed, host
 * unreachable): empty ones older than a minute; one still in use cannot be removed.
 */
export const CGROUP_PROBE = `
cg_sweep() { find "$1" -mindepth 1 -maxdepth 1 -name 'run-*' -mmin +1 -exec rmdir {} + 2>/dev/null; return 0; }
cg_try() {
  mkdir -p -- "$1" 2>/dev/null || return 1
  t="$1/probe-$$"
  mkdir -- "$t" 2>/dev/null || return 1
  sh -c 'echo $$ > "$1/cgroup.procs"' ygg-probe "$t" 2>/dev/null; ok=$?
  rmdir -- "$t" 2>/dev/null
  return $ok
}
r=/sys/fs/cgroup
if [ -f "$r/cgroup.controllers" ]; then
  b="$r/ygg"
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$b" 2>/dev/null
    for ctl in pids memory cpu; do
      echo "+$ctl" > "$r/cgroup.subtree_control" 2>/dev/null
      echo "+$ctl" > "$b/cgroup.subtree_control" 2>/dev/null
    done
  fi
  if [ -f "$b/cgroup.subtree_control" ] && grep -qw pids "$b/cgroup.subtree_control" && cg_try "$b"; then
    echo "cgroup=v2"; echo "cg_base=$b"; cg_sweep "$b"
    for ctl in memory cpu; do grep -qw "$ctl" "$b/cgroup.subtree_control" && echo "cg_ctl=$ctl"; done
  fi
elif [ -f "$r/pids/cgroup.procs" ] && cg_try "$r/pids/ygg"; then
  echo "cgroup=v1"; echo "cg_pids=$r/pids/ygg"; cg_sweep "$r/pids/ygg"
  for ctl in memory cpu cpuacct; do
    [ -f "$r/$ctl/cgroup.procs" ] && cg_try "$r/$ctl/ygg" && echo "cg_$ctl=$r/$ctl/ygg" && cg_sweep "$r/$ctl/ygg"
  done
fi
# A controller missing or a cgroup in use is not a failed probe.
:
`;

/** The cgroup support the probe printed (`values`: its key=value lines; `ctl`: its cg_ctl lines). */
export function parseCgroupProbe(values: Map<string, string>, ctl: string[]): CgroupSupport | undefined {
  const kind = values.get('cgroup');
  if (kind === 'v2' && values.get('cg_base')) {
    const controllers = ctl.filter((c): c is 'memory' | 'cpu' => c === 'memory' || c === 'cpu');
    return { kind: 'v2', base: values.get('cg_base')!, controllers };
  }
  if (kind === 'v1' && values.get('cg_pids')) {
    const support: CgroupSupport = { kind: 'v1', pids: values.get('cg_pids')! };
    const memory = values.get('cg_memory');
    const cpu = values.get('cg_cpu');
    const cpuacct = values.get('cg_cpuacct');
    if (memory) support.memory = memory;
    if (cpu) support.cpu = cpu;
    if (cpuacct) support.cpuacct = cpuacct;
    return support;
  }
  return undefined;
}
