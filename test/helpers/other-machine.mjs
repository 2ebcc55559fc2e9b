/**
 * Preloaded into a child process (`otherMachine(name)` in machine.ts) so that it reports another
 * machine's name (`os.hostname()`): several dispatchers on one test machine then see each other
 * as dispatchers on different machines do, where no process check can tell a dead one.
 */
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';

const name = process.env.YGG_TEST_MACHINE;
if (name) {
  os.hostname = () => name;
  syncBuiltinESMExports();
}
