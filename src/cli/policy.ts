import type { Command } from 'commander';
import { PolicyStore, type PolicyVersion } from '../pipeline/policy.js';
import { openStore } from '../store/open.js';
import type { CommonOptions } from './runtime.js';
import { storeOptionHelp } from './store-help.js';

/** Policy versions published by the learner (and the initial one), oldest first. */
export async function policyCommand(options: CommonOptions): Promise<PolicyVersion[]> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  // Awaited here: the store closes when this function returns, and the read may need it.
  return await PolicyStore.read(store.runtimeDir, store.sharedState);
}

export function formatPolicyVersions(rows: readonly PolicyVersion[]): string {
  if (rows.length === 0) return 'no policy versions yet (the learner publishes one per batch)\n';
  const lines = ['version  published                 batch  mean reward  stale  train ms  host'];
  for (const v of rows) {
    lines.push(
      [
        String(v.version).padStart(7),
        v.publishedAt.padEnd(24),
        String(v.batchSize).padStart(5),
        (v.meanReward === null ? '-' : v.meanReward.toFixed(3)).padStart(11),
        String(v.staleDropped).padStart(5),
        (v.trainMs === undefined ? '-' : String(Math.round(v.trainMs))).padStart(8),
        v.host ?? '-',
      ].join('  '),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('policy')
    .description('list policy versions: batch sizes, mean rewards, times')
    .option('--store <path|url>', storeOptionHelp)
    .option('--json', 'print one JSON array')
    .action(async (flags: CommonOptions & { json?: boolean }) => {
      const rows = await policyCommand(flags);
      process.stdout.write(flags.json ? `${JSON.stringify(rows)}\n` : formatPolicyVersions(rows));
    });
}
