import type { NewTask } from '../store/store.js';

/** The Python dispatcher's benchmark: 10 code, 10 text, 10 reasoning tasks, created interleaved. */
export const seed30Shape = [
  { type: 'code-generation', units: 30, title: 'code: implement a helper' },
  { type: 'text-processing', units: 20, title: 'rewrite a paragraph' },
  { type: 'reasoning', units: 40, title: 'analyze a trade-off' },
] as const;

/**
 * The seed30 workload as new tasks, each carrying its simulated model time (`unitMs` per unit)
 * and naming the `simulate` handler, so it runs anywhere.
 */
export function seed30Tasks(unitMs: number, rounds = 10): NewTask[] {
  const tasks: NewTask[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    for (const shape of seed30Shape) {
      tasks.push({
        title: `${shape.title} #${round}`,
        priority: 2,
        labels: [shape.type],
        metadata: { ygg: { handler: 'simulate', simulate_ms: shape.units * unitMs } },
      });
    }
  }
  return tasks;
}
