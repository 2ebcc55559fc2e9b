/**
 * Fails a test that leaves something running: a child process (a `ygg loop`, an sshd, a shell)
 * or an open handle that keeps the test process alive (a socket, a server, a pipe, a watcher, a
 * ref'd timer or interval, as a loop left running holds).
 *
 *   describe('...', () => {
 *     useLeakCheck();
 *     it(...);
 *   });
 *
 * The check runs after the test's own cleanup (`onTestFinished` callbacks, which run in reverse
 * order of registration: this one is registered first, in `beforeEach`, so it runs last), and
 * gives what is already closing a moment to finish before it fails the test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { beforeEach, onTestFinished } from 'vitest';

/** Handle kinds a test may leave behind (names from `process.getActiveResourcesInfo()`). */
const watchedKinds = new Set([
  'ProcessWrap',
  'TCPWrap',
  'TCPServerWrap',
  'PipeWrap',
  'PipeServerWrap',
  'UDPWrap',
  'FSEventWrap',
  'StatWatcher',
  'Timeout',
  'Immediate',
]);

export interface LeakCheckOptions {
  /** How long things already closing get before they count as left (default 5 s). */
  settleMs?: number;
  /** Handle kinds not to check (for a suite that keeps a shared server on purpose, say). */
  ignoreKinds?: string[];
}

/** A process the test process started, still there (a zombie that is not reaped yet counts as gone). */
export interface LiveChild {
  pid: number;
  command: string;
}

/** Registers the check for every test of the enclosing `describe` (or file). */
export function useLeakCheck(options: LeakCheckOptions = {}): void {
  beforeEach(() => {
    const before = new Set(childrenOf(process.pid).map((c) => c.pid));
    const handlesBefore = handleCounts(options.ignoreKinds);
    onTestFinished(async () => {
      const left = await settle(options.settleMs ?? 5_000, () => leaks(before, handlesBefore, options));
      if (left.length > 0) throw new Error(`the test left things running:\n- ${left.join('\n- ')}`);
    });
  });
}

/** What is running now that was not before the test, described for a failure message. */
export function leaks(
  childrenBefore: ReadonlySet<number>,
  handlesBefore: ReadonlyMap<string, number>,
  options: Pick<LeakCheckOptions, 'ignoreKinds'> = {},
): string[] {
  const found: string[] = [];
  for (const child of childrenOf(process.pid)) {
    if (!childrenBefore.has(child.pid)) found.push(`child process ${child.pid}: ${child.command}`);
  }
  for (const [kind, count] of handleCounts(options.ignoreKinds)) {
    const extra = count - (handlesBefore.get(kind) ?? 0);
    if (extra > 0) found.push(`${extra} more ${kind} handle${extra === 1 ? '' : 's'} than before the test`);
  }
  return found;
}

/** Live (not zombie) processes whose parent is `ppid`, from /proc. Empty where /proc is missing. */
export function childrenOf(ppid: number): LiveChild[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children: LiveChild[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const [state, parent] = stat.slice(close + 2).split(' ');
    if (Number(parent) !== ppid || state === 'Z') continue;
    children.push({
      pid: Number(entry),
      command: commandLine(entry) || stat.slice(stat.indexOf('(') + 1, close),
    });
  }
  return children;
}

function commandLine(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 200);
  } catch {
    return '';
  }
}

/** Counts of the watched handle kinds keeping the event loop alive (unref'd ones are not listed). */
export function handleCounts(ignore: readonly string[] = []): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (!watchedKinds.has(kind) || ignore.includes(kind)) continue;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/** Re-checks until nothing is left or `ms` passed; returns what is still left. */
async function settle(ms: number, check: () => string[]): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = check();
    if (left.length === 0 || Date.now() >= deadline) return left;
    // Closing sockets and exiting children finish on later turns of the event loop.
    await new Promise((resolve) => setTimeout(resolve, 50).unref());
  }
}
