/**
 * Notifications on dead letters and host down/up: a configured command (argv, never a shell
 * string; the event JSON on stdin and in YGG_EVENT_JSON) and/or a webhook POST of that JSON.
 * Failures are logged, never thrown: a broken notifier cannot disturb the loop.
 */
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { EventBus, YggEventName } from './events.js';

export const notifiableEvents = [
  'task:dead',
  'host:down',
  'host:up',
] as const satisfies readonly YggEventName[];
export type NotifiableEvent = (typeof notifiableEvents)[number];

export interface NotifySettings {
  command?: string[];
  webhook?: string;
  /** Events to notify on. Default: all of `notifiableEvents`. */
  on: NotifiableEvent[];
  /** Per notification. Default 10 s. */
  timeoutMs?: number;
}

export interface NotificationBody {
  event: NotifiableEvent;
  at: string;
  [key: string]: unknown;
}

const aliases: Record<string, NotifiableEvent> = {
  'task:dead': 'task:dead',
  dead: 'task:dead',
  'dead-letter': 'task:dead',
  'host:down': 'host:down',
  'host-down': 'host:down',
  'host:up': 'host:up',
  'host-up': 'host:up',
};

/**
 * Reads `notify:` from the config loosely (the config schema may or may not define it yet):
 * `{command?: string[], webhook?: string, on?: string[]}`. Undefined when nothing is configured.
 */
export function notifySettingsFrom(config: unknown): NotifySettings | undefined {
  const raw = (config as { notify?: unknown } | undefined)?.notify;
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  const command =
    Array.isArray(r.command) && r.command.length > 0 && r.command.every((a) => typeof a === 'string')
      ? (r.command as string[])
      : undefined;
  const webhook = typeof r.webhook === 'string' && r.webhook ? r.webhook : undefined;
  if (!command && !webhook) return undefined;
  const on = Array.isArray(r.on)
    ? r.on.flatMap((name) => (typeof name === 'string' && aliases[name] ? [aliases[name]!] : []))
    : [...notifiableEvents];
  const timeoutMs = typeof r.timeoutMs === 'number' ? r.timeoutMs : undefined;
  return { command, webhook, on, timeoutMs };
}

export interface Notifier extends AsyncDisposable {
  /** Resolves when every notification started so far has finished. */
  settled(): Promise<void>;
}

export function startNotifier(options: {
  bus: EventBus;
  settings: NotifySettings;
  logger?: Logger;
}): Notifier {
  const { bus, settings, logger } = options;
  const pending = new Set<Promise<void>>();
  const timeoutMs = settings.timeoutMs ?? 10_000;

  // Each channel delivers in the order things happened (a dead letter, then its host going
  // down), one at a time; a slow or failing one is bounded by the timeout.
  const chains = { command: Promise.resolve(), webhook: Promise.resolve() };
  const deliver = (body: NotificationBody): void => {
    const json = JSON.stringify(body);
    const jobs: Promise<void>[] = [];
    const command = settings.command;
    if (command) {
      chains.command = chains.command.then(() => runCommand(command, json, body.event, timeoutMs));
      jobs.push(chains.command);
      chains.command = chains.command.catch(() => undefined);
    }
    const webhook = settings.webhook;
    if (webhook) {
      chains.webhook = chains.webhook.then(() => postWebhook(webhook, json, timeoutMs));
      jobs.push(chains.webhook);
      chains.webhook = chains.webhook.catch(() => undefined);
    }
    for (const job of jobs) {
      const tracked = job
        .catch((error: unknown) =>
          logger?.warn(
            { event: body.event, err_msg: error instanceof Error ? error.message : String(error) },
            'notification failed',
          ),
        )
        .finally(() => pending.delete(tracked));
      pending.add(tracked);
    }
  };

  const off = settings.on.map((event) =>
    bus.on(event, (payload) => deliver({ event, at: new Date().toISOString(), ...payload })),
  );

  const settled = async () => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };
  return {
    settled,
    async [Symbol.asyncDispose]() {
      for (const unsubscribe of off) unsubscribe();
      await settled();
    },
  };
}

function runCommand(argv: string[], json: string, event: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, YGG_EVENT: event, YGG_EVENT_JSON: json },
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 2000) stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${argv[0]} exited ${code ?? signal}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
    child.stdin.on('error', () => {}); // a command that does not read stdin is fine
    child.stdin.end(json);
  });
}

async function postWebhook(url: string, json: string, timeoutMs: number): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: json,
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`webhook answered ${response.status}`);
}
