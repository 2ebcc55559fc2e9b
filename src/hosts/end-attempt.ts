/**
 * Ending an attempt's processes on a host after its loop died. Every command of an attempt
 * carries `YGG_ATTEMPT=TASK/TOKEN` in its environment (children inherit it, the sandbox passes
 * it in), so a later loop can find them in `/proc/PID/environ` even when their loop, their SSH
 * connection and their process group's leader are gone, and end them before the task runs again.
 */
import type { Transport } from './transport.js';

export const attemptMarkerVar = 'YGG_ATTEMPT';

export const attemptMarker = (taskId: string, token: number): string => `${taskId}/${token}`;

/**
 * Finds the marked processes, sends TERM, then KILL after 2 s, and waits until none is left.
 * A fixed script: the marker is its argument, never part of the script's text. Exit 3 and
 * `left N` when some could not be ended (another user's, as a login that is not root).
 */
const endScript = `m="${attemptMarkerVar}=$1"
found() { grep -lzxF -e "$m" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3; }
wait_gone() { i=0; while [ $i -lt 20 ]; do p=$(found); [ -z "$p" ] && return 0; sleep 0.1; i=$((i+1)); done; return 1; }
p=$(found)
[ -z "$p" ] && { echo "ended 0"; exit 0; }
n=$(echo $p | wc -w)
kill -TERM $p 2>/dev/null
wait_gone && { echo "ended $n"; exit 0; }
kill -KILL $(found) 2>/dev/null
wait_gone && { echo "ended $n"; exit 0; }
echo "left $(found | wc -l)"
exit 3`;

/** The host answered, but the attempt's processes could not all be ended (or the check failed). */
export class AttemptNotEndedError extends Error {
  override readonly name: string = 'AttemptNotEndedError';
}

export interface EndedAttempt {
  /** Processes of the attempt that were still running (now ended). */
  ended: number;
}

/**
 * Ends the attempt's processes on the host. Rejects with AttemptNotEndedError when the host
 * answered but they are not all gone, and with the transport's error when it did not answer.
 */
export async function endAttemptProcesses(
  transport: Transport,
  marker: string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<EndedAttempt> {
  const result = await transport.exec(['sh', '-c', endScript, 'ygg-end-attempt', marker], {
    timeoutMs: options.timeoutMs ?? 10_000,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const ended = /^ended (\d+)/m.exec(result.stdout);
  if (result.code === 0 && ended) return { ended: Number(ended[1]) };
  const left = /^left (\d+)/m.exec(result.stdout);
  throw new AttemptNotEndedError(
    left
      ? `${left[1]} of its processes on ${transport.hostName} could not be ended`
      : `ending it on ${transport.hostName} failed: ${(result.stderr || result.stdout).trim() || `exit ${result.code ?? result.signal}`}`,
  );
}
