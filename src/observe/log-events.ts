/** Turns bus events into log lines with the standard fields (`task_id`, `host`, `attempt`, `type`). */
import type { Logger } from 'pino';
import type { EventBus, YggEventName, YggEvents } from './events.js';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const levels: Partial<Record<YggEventName, Level>> = {
  'task:added': 'info',
  'task:ready': 'debug',
  'task:unroutable': 'warn',
  'task:claimed': 'debug',
  'task:started': 'info',
  'task:progress': 'debug',
  'task:succeeded': 'info',
  'task:failed': 'warn',
  'task:retry': 'info',
  'task:dead': 'error',
  'task:cancelled': 'info',
  'task:lost': 'warn',
  'task:earlier-ended': 'warn',
  'task:earlier-waiting': 'warn',
  'host:up': 'info',
  'host:down': 'error',
  'host:drain': 'info',
  'host:unreachable': 'warn',
  'slots:changed': 'trace',
  'gpu:sample': 'trace',
  'queue:paused': 'info',
  'store:connection': 'warn',
  'config:reloaded': 'info',
  'config:invalid': 'error',
  'loop:state': 'info',
  'tool:called': 'debug',
  'policy:published': 'info',
  'listener:error': 'error',
};

/** Renames the bus's camelCase ids to the log field names; everything else passes through. */
export function logFields<E extends YggEventName>(event: E, payload: YggEvents[E]): Record<string, unknown> {
  const fields: Record<string, unknown> = { event };
  for (const [key, value] of Object.entries(payload)) {
    if (key === 'taskId') fields.task_id = value;
    else if (key === 'runMs') fields.run_ms = value;
    else if (key === 'waitMs') fields.wait_ms = value;
    else if (key === 'error' && typeof value === 'string') fields.err_msg = value;
    else fields[key] = value;
  }
  return fields;
}

function message<E extends YggEventName>(event: E, payload: YggEvents[E]): string {
  const p = payload as Record<string, unknown>;
  const subject = p.taskId ?? p.host ?? '';
  return subject ? `${event} ${String(subject)}` : event;
}

/** Logs every bus event at its level. Returns an unsubscribe function. */
export function logEvents(bus: EventBus, logger: Logger): () => void {
  return bus.onAny((event, payload) => {
    const level = levels[event] ?? 'info';
    if (!logger.isLevelEnabled(level)) return;
    logger[level](logFields(event, payload), message(event, payload));
  });
}
