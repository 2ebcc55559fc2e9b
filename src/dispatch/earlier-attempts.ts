/**
 * Before a task taken over from a lapsed lease runs again, the attempts its dead loop left
 * behind are ended on their hosts, so that two attempts of one task never run at once. When a
 * host cannot be reached (or its processes will not end), the task goes back to the queue to
 * try again later, not counted against its attempts.
 */
import type { HostConfig } from '../config/types.js';
import { AttemptNotEndedError, attemptMarker, endAttemptProcesses } from '../hosts/end-attempt.js';
import type { Transport } from '../hosts/transport.js';
import type { EventBus } from '../observe/events.js';
import type { HostSlots, Slot } from '../schedule/slots.js';
import { type Task, yggOf } from '../store/task.js';
import type { Clock } from './clock.js';
import type { TaskChange } from './lifecycle/changes.js';

/** How long a task whose earlier attempt could not be ended waits before it is tried again. */
export const earlierAttemptRetryMs = 5_000;

export interface EarlierAttemptsInput {
  /** The task as claimed (its `unended` attempts) and its new lease's token. */
  task: Task;
  token: number;
  /** The slot it took: given back when it must wait. */
  launch: { type: string; slot: Slot; hostSlots: HostSlots };
  /** The runner's claims in flight: the task is one of them meanwhile. */
  claiming: Map<string, { type: string; host: string }>;
  config(): { hosts: readonly HostConfig[] };
  transport(host: HostConfig): Transport;
  write(change: TaskChange): Promise<Task | undefined>;
  bus: EventBus;
  clock: Clock;
  /** Ask the loop for a pass (the slot came back). */
  kick(): void;
  /** Bound of each host's clean-up (default 10 s). */
  timeoutMs?: number;
}

/**
 * True when the task may run now: no earlier attempt of it is left on a host. Otherwise (or when
 * the store could not be written) its slot is given back, and the task has gone back to the queue
 * or its lease will lapse.
 */
export async function endEarlierAttempts(input: EarlierAttemptsInput): Promise<boolean> {
  const { task, launch, claiming } = input;
  claiming.set(task.id, { type: launch.type, host: launch.slot.host });
  const mayRun = await endEarlier(input).catch(() => false);
  claiming.delete(task.id);
  if (!mayRun) {
    launch.hostSlots.release(launch.slot);
    input.kick();
  }
  return mayRun;
}

async function endEarlier(input: EarlierAttemptsInput): Promise<boolean> {
  const { task, token, bus } = input;
  const unended = yggOf(task).unended ?? [];
  if (unended.length === 0) return true;
  const ended: number[] = [];
  let blocked: string | undefined;
  for (const earlier of unended) {
    const host = input.config().hosts.find((h) => h.name === earlier.host);
    const about = { taskId: task.id, host: earlier.host, attempt: earlier.attempt };
    // A host no longer configured is not ygg's to reach: nothing to end there from here.
    let processes = 0;
    if (host) {
      try {
        const result = await endAttemptProcesses(
          input.transport(host),
          attemptMarker(task.id, earlier.token),
          {
            timeoutMs: input.timeoutMs ?? 10_000,
          },
        );
        processes = result.ended;
      } catch (error) {
        // The transport rejects only when the host cannot be reached.
        const message = (error as Error).message;
        const why =
          error instanceof AttemptNotEndedError ? message : `${host.name} is unreachable: ${message}`;
        blocked = `waiting for attempt ${earlier.attempt} on ${host.name} to end: ${why}`;
        bus.emit('task:earlier-waiting', { ...about, error: blocked });
        break;
      }
    }
    if (processes > 0 || !host) bus.emit('task:earlier-ended', { ...about, processes });
    ended.push(earlier.token);
  }
  if (ended.length > 0) await input.write({ op: 'ended-earlier', id: task.id, token, ended });
  if (!blocked) return true;
  const now = input.clock.now();
  await input.write({
    op: 'release',
    id: task.id,
    ending: { token, now, outcome: 'unreachable', error: blocked },
    notBefore: now + earlierAttemptRetryMs,
  });
  return false;
}
