/** Routing: which host a task goes to now, or why it cannot go anywhere. Pure, so it is unit-tested. */

export interface HostView {
  name: string;
  up: boolean;
  draining: boolean;
  free: number;
  used: number;
  effective: number;
}

export type RouteDecision =
  | { kind: 'assign'; host: string }
  /** Eligible hosts exist and are up, but none has a free slot now: try again when one frees. */
  | { kind: 'busy' }
  /** Eligible hosts exist but all are down or draining: the task waits for one to come back. */
  | { kind: 'waiting'; reason: string }
  /** Nothing can ever run it under this configuration. */
  | { kind: 'unroutable'; reason: string };

export interface RouteRequest {
  type: string;
  /**
   * Eligible hosts in order of preference (from the type's config). An entry that is a list is a
   * group of equally preferred hosts: the least loaded of them is taken, ties at random.
   */
  preference: readonly (string | readonly string[])[];
  hosts: ReadonlyMap<string, HostView>;
  /** Hosts this task already failed on: used only when no other eligible host is free. */
  avoid?: ReadonlySet<string>;
  /** Extra eligibility (a requested model the host must serve); returns a reason when not. */
  accepts?: (host: string) => string | undefined;
  random?: () => number;
}

/**
 * The first eligible host with a free slot wins; among hosts of equal preference rank (the same
 * host listed once) the least loaded is taken, ties broken at random. A host the task failed on
 * is passed over while another eligible host is free.
 */
export function route(request: RouteRequest): RouteDecision {
  const { hosts, avoid, accepts } = request;
  const random = request.random ?? Math.random;
  const ranks = request.preference.map((entry) => (typeof entry === 'string' ? [entry] : [...entry]));
  const preference = ranks.flat();
  if (preference.length === 0)
    return { kind: 'unroutable', reason: `no host is eligible for type "${request.type}"` };

  const known = preference.filter((name) => hosts.has(name));
  if (known.length === 0) {
    return {
      kind: 'unroutable',
      reason: `type "${request.type}" names hosts that are not configured: ${preference.join(', ')}`,
    };
  }
  const refusals: string[] = [];
  const serving = new Set(
    known.filter((name) => {
      const refusal = accepts?.(name);
      if (refusal) refusals.push(refusal);
      return refusal === undefined;
    }),
  );
  if (serving.size === 0) return { kind: 'unroutable', reason: refusals.join('; ') };

  const usable = [...serving].filter((name) => {
    const host = hosts.get(name)!;
    return host.up && !host.draining;
  });
  if (usable.length === 0) {
    const states = [...serving].map((name) => `${name} ${hosts.get(name)!.up ? 'draining' : 'down'}`);
    return { kind: 'waiting', reason: `every eligible host is unavailable (${states.join(', ')})` };
  }

  const isFree = (name: string) => usable.includes(name) && hosts.get(name)!.free > 0;
  const freeRanks = ranks.map((group) => group.filter(isFree)).filter((group) => group.length > 0);
  if (freeRanks.length === 0) return { kind: 'busy' };
  // Pass over hosts this task failed on while any other eligible host is free.
  const freshRanks = avoid?.size
    ? freeRanks.map((group) => group.filter((name) => !avoid.has(name))).filter((group) => group.length > 0)
    : freeRanks;
  const group = (freshRanks[0] ?? freeRanks[0])!;
  const loads = group.map((name) => load(hosts.get(name)!));
  const least = Math.min(...loads);
  const tied = group.filter((_, i) => loads[i] === least);
  return { kind: 'assign', host: tied[Math.floor(random() * tied.length)] ?? group[0]! };
}

function load(host: HostView): number {
  return host.effective === 0 ? 1 : host.used / host.effective;
}
