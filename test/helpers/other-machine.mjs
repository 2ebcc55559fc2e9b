/**
 * Preloaded into a child process (`otherMachine(name)` in machine.ts) so that it reports another
 * machine's name (`os.hostname()`): several dispatchers on one test machine then see each other
 * as dispatchers on different machines do, where no process check can tell a dead one. With
 * YGG_TEST_CLOCK_SKEW_MS its clock (`Date.now()`, `new Date()`) is that far off, as another
 * machine's clock can be.
 */
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';

const name = process.env.YGG_TEST_MACHINE;
if (name) {
  os.hostname = () => name;
  syncBuiltinESMExports();
}

const skew = Number(process.env.YGG_TEST_CLOCK_SKEW_MS ?? 0);
if (Number.isFinite(skew) && skew !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now;
  globalThis.Date = class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(realNow() + skew);
      else super(...args);
    }
    static now() {
      return realNow() + skew;
    }
  };
}
