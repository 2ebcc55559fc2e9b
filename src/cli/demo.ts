import { join } from 'node:path';
import type { Command } from 'commander';
import { type DemoOptions, type DemoSummary, runDemo } from '../app/demo.js';

export function formatDemo(summary: DemoSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const lines = [
    `seed30 workload: ${summary.tasks} tasks (1 unit = ${summary.unitMs} ms of simulated model time)`,
    `store: ${join(summary.dir, '.beads', 'issues.jsonl')}`,
    '',
    `makespan        ${(summary.makespanMs / 1000).toFixed(2)} s = ${summary.makespanUnits.toFixed(0)} units (Python dispatcher: 400 legacy, 200 async)`,
    `tasks closed    ${summary.closed} of ${summary.tasks}`,
    `dead letters    ${summary.dead}`,
    '',
    'host              slots  busy      utilisation',
    ...summary.hosts.map(
      (h) =>
        `${h.name.padEnd(18)}${String(h.slots).padEnd(7)}${`${(h.busyMs / 1000).toFixed(2)} s`.padEnd(10)}${pct(h.utilisation)}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run the Python dispatcher’s 30-task benchmark on the shipped hosts.yaml and print a summary',
    )
    .option('--dir <path>', 'folder for the demo store (default: a new temporary folder)')
    .option('--config <path>', 'hosts.yaml to run it on (default: the shipped one)')
    .option('--unit-ms <ms>', 'simulated model time per work unit', (v) => Number(v), 50)
    .option('--legacy', 'one running task per type, as the Python dispatcher first did')
    .option('--order <order>', 'fifo or makespan (longest expected first within a priority)')
    .option('--json', 'print the summary as one JSON object')
    .action(async (flags: DemoOptions & { json?: boolean }) => {
      const summary = await runDemo(flags);
      process.stdout.write(flags.json ? `${JSON.stringify(summary)}\n` : formatDemo(summary));
    });
}
