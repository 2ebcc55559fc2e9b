/**
 * `npm run bench -- NAME [--json] [args]`: runs bench/NAME.ts, whose `run(args)` prints a table
 * (or, with --json, exactly one JSON object on stdout).
 */
import { readdirSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('lib'))
  .map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [--json]\nbenchmarks: ${available.sort().join(', ')}\n`);
  process.exit(2);
}
const bench = (await import(`./${name}.ts`)) as { run(args: string[]): Promise<void> };
await bench.run(args);
