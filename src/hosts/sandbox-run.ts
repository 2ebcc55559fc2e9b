/**
 * Running a sandboxed command through a transport's own exec (SSH hosts), and reading its
 * result: which limit ended it, in words, and the protections it had.
 */

import type { SandboxSettings } from '../config/types.js';
import { KILL_GRACE_S, planForExec, type SandboxPlan } from './sandbox.js';
import { type CgroupEvidence, cgroupTeardownArgv, parseCgroupEvidence } from './sandbox-cgroup.js';
import { classifyLimit, describeLimit, LimitSniffer } from './sandbox-limits.js';
import type { SandboxCapabilities } from './sandbox-probe.js';
import type { ExecOptions, ExecResult, LimitReason } from './transport.js';

/** The transport's own (unsandboxed) exec. */
export type RawExec = (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;

/** How long ygg's own timer waits past the host's wall bound before killing from its side. */
const BACKSTOP_MS = (KILL_GRACE_S + 3) * 1000;

/**
 * Runs an argv sandboxed through a transport's raw exec: wraps it, watches stderr for limit
 * messages, tears down its cgroup (reading whether a limit was hit there) and the work directory
 * it made, and says which limit ended it and which protections were in force. Transports call
 * this when `options.sandbox` is set.
 */
export async function execSandboxed(
  rawExec: RawExec,
  caps: SandboxCapabilities,
  settings: SandboxSettings,
  argv: readonly string[],
  options: ExecOptions,
): Promise<ExecResult> {
  const plan = planForExec(argv, options, { settings, caps });
  const sniffer = new LimitSniffer();
  const onOutput = options.onOutput;
  const hostBound = caps.timeout;
  // The environment travels in the wrapped argv: the sandbox starts from an empty one.
  const { sandbox: _sandbox, cwd: _cwd, env: _env, ...rest } = options;
  let evidence: CgroupEvidence | undefined;
  let result: ExecResult;
  try {
    result = await rawExec(plan.argv, {
      ...rest,
      timeoutMs: hostBound ? plan.limits.wallMs + BACKSTOP_MS : plan.limits.wallMs,
      onOutput: (chunk, stream) => {
        if (stream === 'stderr') sniffer.feed(chunk);
        onOutput?.(chunk, stream);
      },
    });
  } finally {
    // Best effort: the host may be gone, and the next attempt uses a fresh directory anyway.
    if (plan.cgroup || plan.ownsWorkdir) {
      const teardown = cgroupTeardownArgv(plan.cgroup, plan.ownsWorkdir ? plan.workdir : undefined);
      const ended = await rawExec(teardown, { timeoutMs: 30_000 }).catch(() => undefined);
      if (ended && plan.cgroup) evidence = parseCgroupEvidence(ended.stdout);
    }
  }
  return sandboxResult(result, plan, sniffer.seen, evidence);
}

/** The command's result with the limit that ended it, in words, and the protections it had. */
export function sandboxResult(
  result: ExecResult,
  plan: SandboxPlan,
  markers: ReadonlySet<LimitReason>,
  evidence: CgroupEvidence | undefined,
): ExecResult {
  const limit =
    result.limit === 'cancelled'
      ? 'cancelled'
      : classifyLimit({
          code: result.code,
          signal: result.signal,
          durationMs: result.durationMs,
          wallMs: plan.limits.wallMs,
          timedOut: result.limit === 'time',
          markers,
          diskBounded: plan.diskBounded,
          ...(evidence
            ? {
                cgroup: {
                  pidsMaxHits: evidence.pidsMaxHits,
                  oomKills: evidence.oomKills,
                  cpuExhausted: evidence.cpuNs >= plan.limits.cpuSeconds * 1e9,
                },
              }
            : {}),
        });
  const out: ExecResult = { ...result, protections: plan.protections };
  delete out.limit;
  delete out.limitMessage;
  if (limit) {
    out.limit = limit;
    out.limitMessage = describeLimit(limit, plan.limits);
  }
  return out;
}
