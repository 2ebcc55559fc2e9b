/**
 * `ygg doctor --fix [HOST]`: as root on a host, makes the users of a user per slot
 * (`ygg-slot-0` … `ygg-slot-(N-1)` for its N slots), so that where the host gives ygg no cgroup
 * each slot's commands count their processes apart. Runs on this machine for a local host, and
 * over the host's own SSH connection for an SSH host (which needs a root login); anywhere else
 * it says to run it there as root. Idempotent: users that exist are left as they are.
 */
import { openConfig } from '../app/config.js';
import type { HostConfig } from '../config/types.js';
import { YggError } from '../errors.js';
import { createTransport } from '../hosts/pool.js';
import { parseSlotFix, SLOT_FIX_NOT_ROOT, slotFixArgv, slotUserName } from '../hosts/sandbox-slots.js';
import type { DoctorOptions } from './doctor-step.js';

export interface FixResult {
  host: string;
  ok: boolean;
  /** Users made now. */
  created: string[];
  /** Users that were there already. */
  existing: string[];
  error?: string;
  fix?: string;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The commands to run as root on the host by hand. */
const byHand = (slots: number) =>
  Array.from(
    { length: slots },
    (_, i) =>
      `useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group ${slotUserName(i)}`,
  ).join('; ');

/** Makes the slot users on one host, through its own transport. */
export async function fixHost(host: HostConfig): Promise<FixResult> {
  const result: FixResult = { host: host.name, ok: false, created: [], existing: [] };
  await using transport = createTransport(host);
  try {
    const run = await transport.exec(slotFixArgv(host.slots), { timeoutMs: 60_000 });
    if (run.code === 0) {
      return { ...result, ok: true, ...parseSlotFix(run.stdout) };
    }
    const why = run.stderr.trim().split('\n')[0] ?? `exit ${run.code ?? run.signal}`;
    if (run.code === SLOT_FIX_NOT_ROOT) {
      // The script says "not root (uid N)".
      const uid = why.match(/uid \d+/)?.[0] ?? 'another uid';
      const where =
        host.transport === 'ssh'
          ? `ygg logs in to ${host.name} as ${host.ssh?.user ?? 'a user'} (${uid}), not root`
          : `ygg is not running as root here (${uid})`;
      result.error = `${where}: making the slot users needs root`;
      result.fix =
        host.transport === 'ssh'
          ? `Run \`ygg doctor --fix\` as root on ${host.name}, or run there as root: ${byHand(host.slots)}`
          : `Run it again as root: sudo ygg doctor --fix ${host.name}`;
    } else {
      result.error = `making the slot users failed: ${why}`;
      result.fix = `Run as root on ${host.name}: ${byHand(host.slots)}`;
    }
  } catch (error) {
    result.error = message(error);
    const hint = (error as { hint?: unknown }).hint;
    if (typeof hint === 'string') result.fix = hint;
  }
  return result;
}

export async function doctorFix(options: DoctorOptions): Promise<FixResult[]> {
  const { config } = await openConfig({ cwd: options.cwd, config: options.configPath });
  const hosts = options.host ? config.hosts.filter((h) => h.name === options.host) : config.hosts;
  if (options.host && hosts.length === 0) {
    throw new YggError(`no host named ${options.host}`, {
      hint: `hosts: ${config.hosts.map((h) => h.name).join(', ')}`,
    });
  }
  // One host at a time: two local hosts share this machine's users.
  const results: FixResult[] = [];
  for (const host of hosts) results.push(await fixHost(host));
  return results;
}

export function formatFix(results: FixResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (!r.ok) {
      lines.push(`${r.host}: FAIL ${r.error}`);
      if (r.fix) lines.push(`  fix: ${r.fix}`);
    } else if (r.created.length === 0) {
      lines.push(`${r.host}: nothing to do: a user per slot exists (${r.existing.join(', ') || 'no slots'})`);
    } else {
      lines.push(
        `${r.host}: created ${r.created.join(', ')}${r.existing.length ? `; ${r.existing.join(', ')} existed` : ''}`,
      );
    }
  }
  if (results.some((r) => r.created.length > 0)) {
    lines.push(
      'Where a host gives ygg no cgroup, each slot now runs as its own user (process count per slot). Restart a running loop so it sees them; `ygg doctor` shows what is in force.',
    );
  }
  return `${lines.join('\n')}\n`;
}
