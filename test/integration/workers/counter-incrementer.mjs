// Increments one counter COUNT times, each its own locked write (as COUNT loop processes
// finishing tasks at once would). Usage: node counter-incrementer.mjs RUNTIME_DIR NAME COUNT
import { Counters } from '../../../dist/src/observe/counters.js';

const [runtimeDir, name, count] = process.argv.slice(2);
const counters = new Counters(runtimeDir);
for (let i = 0; i < Number(count); i++) {
  await counters.increment({ submitter: 'shared', type: name, field: 'attempts' });
}
