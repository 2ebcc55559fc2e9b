/**
 * The running loop as a StatusSource: live figures from the loop itself (slots, running attempts
 * with progress, why tasks wait, pause and drain), history and host health from a StatusTracker
 * fed by the bus, queue and dead letters from the store. Lives in cli because it joins dispatch
 * and observe, which do not import each other.
 */
import type { Holdup, Loop } from '../dispatch/loop.js';
import { cancelTask, retryTask } from '../dispatch/operator.js';
import { reportedKinds } from '../dispatch/waiting.js';
import { ActivityRecorder } from '../observe/activity.js';
import { drawCharts } from '../observe/charts/index.js';
import { inQueueOrder } from '../observe/queue-order.js';
import {
  type AttemptOutput,
  type StatusSnapshot,
  type StatusSource,
  snapshotLimits,
} from '../observe/snapshot.js';
import { StatusTracker } from '../observe/status-tracker.js';
import { statusOf } from '../store/task.js';

/** Progress lines kept per running attempt, for `ygg logs -f` attaching mid-run. */
const maxOutputLines = 500;

function attemptOutputs(loop: Loop) {
  const outputs = new Map<string, AttemptOutput>();
  const off = [
    loop.bus.on('task:started', ({ taskId, attempt, host }) =>
      outputs.set(taskId, { attempt, host, first: 1, lines: [] }),
    ),
    loop.bus.on('task:progress', ({ taskId, attempt, text }) => {
      const output = outputs.get(taskId);
      if (!output || output.attempt !== attempt) return;
      output.lines.push(text);
      if (output.lines.length > maxOutputLines) {
        output.lines.shift();
        output.first += 1;
      }
    }),
    ...(['task:succeeded', 'task:failed', 'task:cancelled', 'task:lost'] as const).map((event) =>
      loop.bus.on(event, ({ taskId }) => outputs.delete(taskId)),
    ),
  ];
  return {
    get: (id: string): AttemptOutput | undefined => {
      const output = outputs.get(id);
      return output && { ...output, lines: [...output.lines] };
    },
    count: (id: string): number => {
      const output = outputs.get(id);
      return output ? output.first - 1 + output.lines.length : 0;
    },
    stop: () => {
      for (const unsubscribe of off) unsubscribe();
    },
  };
}

export function loopStatusSource(
  loop: Loop,
  options: { version: string; by?: string },
): StatusSource & Disposable & { tracker: StatusTracker } {
  const tracker = new StatusTracker({
    bus: loop.bus,
    store: loop.store,
    config: loop.config,
    version: options.version,
    now: () => loop.clock.now(),
  });
  const outputs = attemptOutputs(loop);
  const activity = new ActivityRecorder(loop.bus, {
    now: () => loop.clock.now(),
    queued: () => {
      let count = 0;
      for (const _ of loop.store.ready(new Date(loop.clock.now()))) count++;
      return count;
    },
  });
  const snapshot = (): StatusSnapshot => {
    const snap = tracker.snapshot();
    const now = loop.clock.now();
    snap.paused = loop.paused;
    const lostSince = loop.store.connection?.lostSince;
    if (lostSince !== undefined)
      snap.database = { state: 'unreachable', since: new Date(lostSince).toISOString(), claiming: 'paused' };
    snap.loop.state = loop.state === 'created' ? 'starting' : loop.state;
    snap.loop.startedAt = new Date(loop.startedAt).toISOString();
    snap.loop.owner = loop.owner;
    for (const host of snap.hosts) {
      const slots = loop.slots.get(host.name);
      if (slots) host.slots = { used: slots.used, total: slots.total, effective: slots.effective };
      host.draining = loop.drained.includes(host.name);
      // Without health probes every host counts as up until an event says otherwise.
      if (host.state === 'unknown' && loop.state === 'running') host.state = 'up';
    }
    snap.running = [...loop.running.values()].map((run) => ({
      id: run.task.id,
      title: run.task.title,
      type: run.type,
      host: run.host,
      attempt: run.attempt,
      startedAt: new Date(run.startedAt).toISOString(),
      elapsedMs: Math.max(0, now - run.startedAt),
      ...(run.progress === undefined ? {} : { progress: run.progress }),
      ...(run.fraction === undefined ? {} : { fraction: run.fraction }),
      outputLines: outputs.count(run.task.id),
    }));
    // Every holdup the loop reports (no host, hosts down or drained, no handler, held by a
    // blocker, assigned to someone else, held by a rate limit or queue limit); not a backoff.
    // Only tasks still open: one cancelled or closed elsewhere while it waited no longer waits.
    const waiting = [...loop.holdups.entries()].flatMap(([id, h]) => {
      const task = loop.store.get(id);
      if (!task || statusOf(task) !== 'open') return [];
      return [
        { id, title: task.title, type: h.type, reason: h.reason, kind: h.kind, priority: task.priority },
      ];
    });
    snap.unroutable = waiting
      .filter((w) => reportedKinds.has(w.kind as Holdup['kind']))
      .slice(0, snapshotLimits.unroutable)
      .map(({ kind: _, ...task }) => task);
    snap.waiting = inQueueOrder(waiting, (id) => loop.readySince(id)).slice(0, snapshotLimits.waiting);
    return snap;
  };
  const by = options.by ?? 'status server';
  return {
    bus: loop.bus,
    tracker,
    snapshot,
    async cancel(id, asker) {
      const who = asker ?? by;
      await cancelTask(loop.store, id, who, loop.clock.now());
      loop.cancelRunning(id, who);
    },
    async retry(id) {
      await retryTask(loop.store, id, loop.clock.now());
      loop.kick();
    },
    output: (id) => outputs.get(id),
    charts: () =>
      drawCharts(
        activity.activity(),
        loop.config.hosts.map((h) => h.name),
      ),
    [Symbol.dispose]: () => {
      outputs.stop();
      activity[Symbol.dispose]();
      tracker[Symbol.dispose]();
    },
  };
}
