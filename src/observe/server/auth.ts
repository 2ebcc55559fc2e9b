/** The status server's token: random per loop, compared in constant time. */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The token a request carries: `Authorization: Bearer T`, else `?token=T` (for EventSource and links). */
export function tokenOf(request: IncomingMessage, url: URL): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  return url.searchParams.get('token') ?? undefined;
}

export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');
}

/** An address or name as it appears in a Host header: IPv6 in brackets, lower case, no zone. */
export function hostName(address: string): string {
  const bare = address
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/%.*$/, '');
  return bare.includes(':') ? `[${bare}]` : bare;
}

/**
 * The names a request may give as its Host: the loopback names, the bound address, the names
 * hosts.yaml lists and, on a LAN bind, this machine's name and addresses. Nothing else: a page
 * on another site that rebinds its DNS name to this machine sends its own name and is refused.
 */
export function allowedHostNames(options: {
  bindHost: string;
  names?: readonly string[];
  /** This machine's name and addresses (asked only on a LAN bind). */
  machine?: () => string[];
}): Set<string> {
  const allowed = new Set(['127.0.0.1', '[::1]', 'localhost', ...(options.names ?? [])].map(hostName));
  const wildcard = options.bindHost === '0.0.0.0' || options.bindHost === '::';
  if (!wildcard) allowed.add(hostName(options.bindHost));
  if (!isLoopback(options.bindHost))
    for (const name of options.machine?.() ?? []) allowed.add(hostName(name));
  return allowed;
}

/** Whether a Host header names exactly one of `allowed`, with an optional port and nothing more. */
export function hostHeaderAllowed(host: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (host === undefined) return true; // HTTP/1.0; a browser always sends one
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]/@\s]+)(?::\d{1,5})?$/i.exec(host);
  return match !== null && allowed.has(match[1]!.toLowerCase());
}
