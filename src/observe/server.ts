/**
 * The status server: JSON status, Prometheus metrics, an event stream, the web view, and
 * cancel/retry. Binds 127.0.0.1 by default; state changes always need the token, and on any
 * other bind address every request does. Only requests naming this server in their Host are
 * answered. It sheds its own load (connections, late requests, event streams that stop reading:
 * server/limits.ts) so that a flood of clients cannot take the loop's memory or descriptors.
 *
 * States: created → listening (start) → closed (close, idempotent; ends streams and sockets).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { YggError } from '../errors.js';
import type { Metrics } from './metrics.js';
import { actorOf } from './server/actor.js';
import {
  allowedHostNames,
  hostHeaderAllowed,
  isLoopback,
  newToken,
  tokenMatches,
  tokenOf,
} from './server/auth.js';
import { defaultLimits, type ServerLimits, throttledWarnings } from './server/limits.js';
import { SseHub } from './server/sse.js';
import { removeStatusFile, writeStatusFile } from './server/status-file.js';
import { webPage } from './server/web-page.js';
import type { StatusSource } from './snapshot.js';

/** Default port of the status server (`status.port` in hosts.yaml; 0 picks a free one). */
export const defaultStatusPort = 7467;
export const defaultStatusHost = '127.0.0.1';

export interface StatusServerOptions {
  source: StatusSource;
  metrics?: Metrics;
  /** Default 127.0.0.1. Anything else opens the server to the network and requires the token always. */
  host?: string;
  /** Default 7467 (as in the config defaults); 0 picks a free port. */
  port?: number;
  /** Default: a fresh random token. */
  token?: string;
  /** Where `status.json` is written (the store's runtime folder); omitted: not written. */
  runtimeDir?: string;
  version?: string;
  /** Names requests may give as their Host besides loopback and this machine's (`status.names`). */
  names?: readonly string[];
  /** What it may take (defaults: `defaultLimits()`, sized to the descriptor limit). */
  limits?: Partial<ServerLimits>;
  /** Where it says it shed load (clients dropped, connections refused); pino's `warn` fits. */
  warn?: (fields: Record<string, unknown>, message: string) => void;
  /** SSE tuning (tests). */
  sse?: { settleMs?: number; refreshMs?: number; heartbeatMs?: number };
}

export interface StatusServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  /** Base URL, `http://HOST:PORT`. */
  readonly url: string;
  /** The URL to open in a browser, carrying the token. */
  readonly browserUrl: string;
  /** Event streams open now (a client that stops reading is dropped from them). */
  readonly eventStreams: number;
  close(): Promise<void>;
}

const actionPath = /^\/tasks\/([^/]+)\/(cancel|retry)$/;
const outputPath = /^\/tasks\/([^/]+)\/output$/;

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const host = options.host ?? defaultStatusHost;
  const loopback = isLoopback(host);
  const token = options.token ?? newToken();
  const { source, metrics } = options;
  const limits = { ...defaultLimits(), ...options.limits };
  const warn = throttledWarnings(options.warn);
  const hub = new SseHub({
    bus: source.bus,
    snapshot: () => source.snapshot(),
    maxBacklogBytes: limits.maxStreamBacklogBytes,
    onDrop: (backlog) =>
      warn('stream-dropped', 'status server: dropped an event stream whose client stopped reading', {
        backlog_bytes: backlog,
      }),
    ...options.sse,
  });
  const hostNames = () =>
    allowedHostNames({ bindHost: host, names: options.names ?? [], machine: machineNames });
  let allowedHosts = hostNames();
  let allowedAt = Date.now();
  const hostAllowed = (request: IncomingMessage): boolean => {
    if (hostHeaderAllowed(request.headers.host, allowedHosts)) return true;
    // Off loopback this machine's addresses can change (DHCP): look again, at most every 5 s.
    if (loopback || Date.now() - allowedAt < 5_000) return false;
    allowedHosts = hostNames();
    allowedAt = Date.now();
    return hostHeaderAllowed(request.headers.host, allowedHosts);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!hostAllowed(request)) return send(response, 403, { error: 'host not allowed' });
    const url = parseUrl(request.url);
    if (!url) return send(response, 400, { error: 'malformed URL' });
    const method = request.method ?? 'GET';
    const authorized = tokenMatches(token, tokenOf(request, url));
    const action = actionPath.exec(url.pathname);
    if (!loopback && !authorized) return send(response, 401, { error: 'token required' }, authenticate);
    if (action) {
      if (method !== 'POST') return send(response, 405, { error: 'use POST' }, { allow: 'POST' });
      if (tokenOf(request, url) === undefined)
        return send(response, 401, { error: 'token required' }, authenticate);
      if (!authorized) return send(response, 403, { error: 'wrong token' });
      const id = decoded(action[1]!);
      if (id === undefined) return send(response, 400, { error: 'malformed %-escape in the task id' });
      try {
        await (action[2] === 'cancel' ? source.cancel(id, actorOf(request)) : source.retry(id));
        return send(response, 200, { ok: true, id, action: action[2] });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return send(response, error instanceof YggError ? 409 : 500, { error: message });
      }
    }
    if (method !== 'GET' && method !== 'HEAD')
      return send(response, 405, { error: 'use GET' }, { allow: 'GET' });
    const output = outputPath.exec(url.pathname);
    if (output) {
      const id = decoded(output[1]!);
      if (id === undefined) return send(response, 400, { error: 'malformed %-escape in the task id' });
      const found = source.output?.(id);
      return found ? send(response, 200, found) : send(response, 404, { error: 'not running here' });
    }
    switch (url.pathname) {
      case '/status':
        // scope=loop: this loop's own view, for another loop's server merging its peers.
        return send(
          response,
          200,
          url.searchParams.get('scope') === 'loop' && source.ownSnapshot
            ? source.ownSnapshot()
            : source.snapshot(),
        );
      case '/charts':
        if (!source.charts) return send(response, 404, { error: 'no charts without a running loop' });
        return send(response, 200, source.charts());
      case '/metrics': {
        if (!metrics) return send(response, 404, { error: 'metrics are off' });
        const text = await metrics.text();
        response.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        response.end(text);
        return;
      }
      case '/events':
        if (hub.size >= limits.maxEventStreams) {
          warn('streams-full', `status server: ${hub.size} event streams open, refusing more`);
          return send(response, 503, { error: 'too many event streams open' }, { 'retry-after': '10' });
        }
        hub.add(response);
        return;
      case '/':
      case '/index.html':
        response.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy':
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:",
          'referrer-policy': 'no-referrer',
        });
        response.end(webPage());
        return;
      default:
        return send(response, 404, { error: 'not found' });
    }
  };

  const server: Server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often timed-out requests are looked for (Node's default, 30 s, would let them linger).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, limits.headersTimeoutMs / 4)),
    },
    (request, response) => {
      handle(request, response).catch((error: unknown) => {
        if (!response.headersSent)
          send(response, 500, { error: error instanceof Error ? error.message : 'error' });
        else response.end();
      });
    },
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.on('drop', () =>
    warn('connections-full', `status server: ${limits.maxConnections} connections open, refusing more`),
  );

  await new Promise<void>((resolve, reject) => {
    const where = `${host}:${options.port ?? defaultStatusPort}`;
    const onError = (error: NodeJS.ErrnoException) => {
      const fail = (message: string, hint: string) => reject(new YggError(message, { hint, cause: error }));
      switch (error.code) {
        case 'EADDRINUSE':
          return fail(
            `status port ${options.port ?? defaultStatusPort} on ${host} is in use`,
            'set status.port in hosts.yaml, or pass --status-port 0 to pick a free one',
          );
        case 'EADDRNOTAVAIL':
          return fail(
            `cannot serve status on ${where}: ${host} is not an address of this machine`,
            'pass --status-host with one of its addresses (ip -brief addr), or leave it at 127.0.0.1',
          );
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
          return fail(
            `cannot serve status on ${where}: the name ${host} does not resolve`,
            'pass --status-host with an address of this machine, or leave it at 127.0.0.1',
          );
        case 'EACCES':
          return fail(
            `cannot serve status on ${where}: permission denied`,
            'ports below 1024 need privileges; pick a higher one or 0 for a free one',
          );
        default:
          return reject(error);
      }
    };
    server.once('error', onError);
    server.listen(options.port ?? defaultStatusPort, host, () => {
      server.off('error', onError);
      // Once listening, a failed accept (EMFILE: out of descriptors) costs that one client only.
      server.on('error', (error: NodeJS.ErrnoException) =>
        warn(`accept-${error.code}`, `status server: cannot accept a connection (${error.message})`, {
          code: error.code,
        }),
      );
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  // Off loopback the page itself needs the token, so it rides in the query; on loopback in the
  // fragment, which the browser never sends.
  // Bound to every address: a phone needs one of this machine's, not 0.0.0.0.
  const reachable = host === '0.0.0.0' || host === '::' ? (lanAddress() ?? host) : host;
  const reachableUrl = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  const browserUrl = loopback ? `${url}/#token=${token}` : `${reachableUrl}/?token=${token}`;
  if (options.runtimeDir) {
    await writeStatusFile(options.runtimeDir, {
      pid: process.pid,
      host,
      port,
      url,
      token,
      startedAt: new Date().toISOString(),
      version: options.version ?? 'unknown',
    });
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      hub.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (options.runtimeDir) await removeStatusFile(options.runtimeDir, token);
    })();
    return closing;
  };

  return {
    host,
    port,
    token,
    url,
    browserUrl,
    get eventStreams() {
      return hub.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The request's URL, or undefined when it is not one. */
function parseUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/** A path segment with its %-escapes decoded, or undefined when one is malformed. */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** This machine's name and its addresses, as a request to it from the LAN may name it. */
function machineNames(): string[] {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .flatMap((a) => (a ? [a.address] : []));
  return [hostname(), `${hostname()}.local`, ...addresses];
}

/** This machine's first address on a network (not loopback), IPv4 first. */
function lanAddress(): string | undefined {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal);
  return (addresses.find((a) => a?.family === 'IPv4') ?? addresses[0])?.address;
}

const authenticate = { 'www-authenticate': 'Bearer realm="ygg"' };

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(text);
}
