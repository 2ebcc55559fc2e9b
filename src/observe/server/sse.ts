/**
 * Server-sent events: every bus event as `event: NAME`, plus `event: snapshot` with the full
 * status shortly after changes and once a second (so elapsed times move), and a comment line
 * every 15 s to keep proxies from closing an idle stream. A client that stops reading is dropped
 * once what waits to be sent to it passes a bound, so it cannot make the loop's memory grow.
 */
import type { ServerResponse } from 'node:http';
import type { EventBus } from '../events.js';
import type { StatusSnapshot } from '../snapshot.js';

export interface SseHubOptions {
  bus: EventBus;
  snapshot: () => StatusSnapshot;
  /** Delay between an event and the snapshot that follows it. Default 100 ms. */
  settleMs?: number;
  /** Snapshot refresh while clients are connected. Default 1000 ms. */
  refreshMs?: number;
  heartbeatMs?: number;
  /** A stream with more than this waiting to be sent is dropped. Default 1 MiB. */
  maxBacklogBytes?: number;
  /** Told of each stream dropped, with what was waiting. */
  onDrop?: (backlogBytes: number) => void;
}

/** Events too frequent to be worth a snapshot of their own (the periodic one covers them). */
const quiet = new Set<string>(['gpu:sample', 'task:progress', 'slots:changed']);

export class SseHub {
  readonly #clients = new Set<ServerResponse>();
  readonly #options: Required<SseHubOptions>;
  #offBus: () => void;
  #settle: NodeJS.Timeout | undefined;
  #refresh: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: SseHubOptions) {
    this.#options = {
      settleMs: 100,
      refreshMs: 1000,
      heartbeatMs: 15_000,
      maxBacklogBytes: 1024 * 1024,
      onDrop: () => {},
      ...options,
    };
    this.#offBus = options.bus.onAny((event, payload) => {
      if (this.#clients.size === 0) return;
      this.#broadcast(event, payload);
      if (!quiet.has(event)) this.#scheduleSnapshot();
    });
  }

  get size(): number {
    return this.#clients.size;
  }

  add(response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.#clients.add(response);
    this.#write(response, 'retry: 2000\n\n');
    response.on('close', () => {
      this.#clients.delete(response);
      if (this.#clients.size === 0) this.#stopTimers();
    });
    this.#send(response, 'snapshot', this.#options.snapshot());
    this.#startTimers();
  }

  /** Ends every stream. */
  close(): void {
    this.#offBus();
    this.#offBus = () => {};
    this.#stopTimers();
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }

  #broadcast(event: string, data: unknown): void {
    const text = message(event, data);
    for (const client of this.#clients) this.#write(client, text);
  }

  #send(client: ServerResponse, event: string, data: unknown): void {
    this.#write(client, message(event, data));
  }

  /** Writes unless the client fell behind; one that did is dropped (its backlog freed with it). */
  #write(client: ServerResponse, text: string): void {
    if (client.writableEnded || client.destroyed) return;
    // Counts what the response and its socket hold, not what the kernel holds for the peer.
    const backlog = client.writableLength;
    if (backlog > this.#options.maxBacklogBytes) {
      this.#clients.delete(client);
      client.destroy();
      this.#options.onDrop(backlog);
      return;
    }
    client.write(text);
  }

  #scheduleSnapshot(): void {
    if (this.#settle) return;
    this.#settle = setTimeout(() => {
      this.#settle = undefined;
      this.#broadcastSnapshot();
    }, this.#options.settleMs);
  }

  #broadcastSnapshot(): void {
    if (this.#clients.size === 0) return;
    let snapshot: StatusSnapshot;
    try {
      snapshot = this.#options.snapshot();
    } catch {
      return; // the next refresh tries again
    }
    this.#broadcast('snapshot', snapshot);
  }

  #startTimers(): void {
    this.#refresh ??= setInterval(() => this.#broadcastSnapshot(), this.#options.refreshMs);
    this.#heartbeat ??= setInterval(() => {
      for (const client of this.#clients) this.#write(client, ': keepalive\n\n');
    }, this.#options.heartbeatMs);
    this.#refresh.unref();
    this.#heartbeat.unref();
  }

  #stopTimers(): void {
    clearTimeout(this.#settle);
    clearInterval(this.#refresh);
    clearInterval(this.#heartbeat);
    this.#settle = this.#refresh = this.#heartbeat = undefined;
  }
}

function message(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
