import diagnostics from 'node:diagnostics_channel';

/**
 * Tells when fetch has opened its connection and sent a request, through undici's documented
 * diagnostics channels (Node's fetch is undici). fetch has no connect timeout of its own, and
 * "until response headers" would count model loading (Ollama sends headers with the first
 * token) against it. Requests are recognised by a unique header value.
 */

export const requestIdHeader = 'x-ygg-request-id';

interface Watch {
  seen: boolean;
  onSent: () => void;
}

const watches = new Map<string, Watch>();
const byRequest = new WeakMap<object, Watch>();
let subscribed = false;

interface UndiciRequestMessage {
  request?: { headers?: unknown };
}

function headersOf(message: unknown): string {
  const headers = (message as UndiciRequestMessage).request?.headers;
  return Array.isArray(headers) ? headers.join('\n') : String(headers ?? '');
}

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe('undici:request:create', (message) => {
    if (watches.size === 0) return;
    const headers = headersOf(message);
    for (const [id, watch] of watches) {
      if (!headers.includes(id)) continue;
      watch.seen = true;
      const request = (message as UndiciRequestMessage).request;
      if (request) byRequest.set(request, watch);
    }
  });
  diagnostics.subscribe('undici:client:sendHeaders', (message) => {
    const request = (message as UndiciRequestMessage).request;
    if (request) byRequest.get(request)?.onSent();
  });
}

export interface ConnectWatch extends Disposable {
  /** Whether fetch announced the request; when false the connect phase cannot be observed. */
  readonly seen: boolean;
}

/** Calls `onSent` once the request with header `requestIdHeader: id` is written to a socket. */
export function watchConnect(id: string, onSent: () => void): ConnectWatch {
  subscribe();
  const watch: Watch = { seen: false, onSent };
  watches.set(id, watch);
  return {
    get seen() {
      return watch.seen;
    },
    [Symbol.dispose]() {
      watches.delete(id);
    },
  };
}
