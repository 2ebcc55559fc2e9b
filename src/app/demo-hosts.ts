/**
 * The demo's check that its hosts answer before it runs on them: one cheap round trip each, all
 * at once, within a few seconds. A simulated task never touches its host, so without this a
 * hosts.yaml of machines that do not exist would "succeed".
 */
import type { HostConfig, YggConfig } from '../config/types.js';
import { createTransport } from '../hosts/pool.js';

export interface UnreachableHost {
  host: string;
  /** Where it was looked for (address:port), for SSH hosts. */
  where?: string;
  why: string;
}

export async function unreachableHosts(
  config: YggConfig,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<UnreachableHost[]> {
  const results = await Promise.all(config.hosts.map((host) => probeHost(host, timeoutMs, signal)));
  return results.filter((r): r is UnreachableHost => r !== undefined);
}

async function probeHost(
  host: HostConfig,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<UnreachableHost | undefined> {
  const where = host.ssh ? `${host.ssh.address}:${host.ssh.port}` : undefined;
  const bound = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])]);
  let transport: ReturnType<typeof createTransport> | undefined;
  try {
    // A connect the signal aborts may keep its socket (and the process) until its own timeout.
    transport = createTransport(
      host.ssh
        ? { ...host, ssh: { ...host.ssh, connectTimeoutMs: Math.min(host.ssh.connectTimeoutMs, timeoutMs) } }
        : host,
    );
    // The transport's own bound may be longer, or a connect may not heed the signal: race it.
    await Promise.race([transport.probe(bound), aborted(bound)]);
    return undefined;
  } catch (error) {
    const why =
      bound.aborted && !signal?.aborted
        ? `no answer within ${timeoutMs / 1000} s`
        : message(error, host.name);
    return { host: host.name, ...(where ? { where } : {}), why };
  } finally {
    await transport?.close().catch(() => undefined);
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** The error without the host's name in front (the report names it). */
function message(error: unknown, host: string): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(new RegExp(`^${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (probe failed: )?`), '');
}
