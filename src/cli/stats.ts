import type { Command } from 'commander';
import { type CountersData, type CounterValues, counterFields } from '../observe/counters.js';
import { readCountersOf } from '../observe/store-counters.js';
import { cell } from '../text/cell.js';
import { type StoreCommandOptions, usingStore, withStoreOption } from './store-options.js';

/** The durable counters: `.ygg/counters.json` beside a file store, the database's (every dispatcher's summed) on PostgreSQL. */
export async function statsCommand(options: StoreCommandOptions): Promise<CountersData> {
  return usingStore(options, (store) => readCountersOf(store));
}

/** How wide a submitter or type name may be in `ygg stats`. */
const nameWidth = 40;

export function formatStats(data: CountersData): string {
  const section = (title: string, rows: Record<string, CounterValues>) => {
    const names = Object.keys(rows).sort();
    if (names.length === 0) return [`${title}: none yet`];
    // A submitter or type name is free text: cut, so one long name cannot push the counts away.
    const shown = new Map(names.map((n) => [n, cell(n, nameWidth)]));
    const width = Math.max(title.length, ...[...shown.values()].map((n) => [...n].length)) + 2;
    const pad = (text: string) => text + ' '.repeat(Math.max(0, width - [...text].length));
    return [
      `${title.padEnd(width)}${counterFields.map((f) => f.padStart(12)).join('')}`,
      ...names.map(
        (n) => `${pad(shown.get(n)!)}${counterFields.map((f) => String(rows[n]![f]).padStart(12)).join('')}`,
      ),
    ];
  };
  return `${[...section('submitter', data.submitters), '', ...section('type', data.types)].join('\n')}\n`;
}

export function register(program: Command): void {
  withStoreOption(
    program
      .command('stats')
      .description('attempts, evaluations, successes and failures per submitter and per type')
      .option('--json', 'print {submitters, types} as one JSON object'),
  ).action(async (flags: StoreCommandOptions & { json?: boolean }) => {
    const data = await statsCommand(flags.store ? { store: flags.store } : {});
    process.stdout.write(flags.json ? `${JSON.stringify(data)}\n` : formatStats(data));
  });
}
