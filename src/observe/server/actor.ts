/**
 * Who asked the status server to cancel a task, as the task's record names them: a client says
 * so in a header (the monitor: `USER (monitor)`, the web view: `the web view`); one that does not
 * (curl, a script) is recorded as the status server. The token is what authorizes; this only
 * names, so it is bounded and kept to printable text.
 */
import type { IncomingMessage } from 'node:http';

export const actorHeader = 'x-ygg-by';
const maxActorChars = 80;
export const defaultActor = 'status server';

export function actorOf(request: IncomingMessage): string {
  const raw = request.headers[actorHeader];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return defaultActor;
  let text: string;
  try {
    text = decodeURIComponent(value);
  } catch {
    return defaultActor;
  }
  const clean = text
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .trim()
    .slice(0, maxActorChars);
  return clean || defaultActor;
}
