import { describe, expect, it } from 'vitest';
import { LeaseKeeper, stopMarginMs } from '../../src/dispatch/lease-keeper.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('the lease keeper, on a fake clock', () => {
  it('renews every third of the lease while renewals land', async () => {
    const clock = new FakeClock();
    const renewals: number[] = [];
    const lost: string[] = [];
    const keeper = new LeaseKeeper({
      clock,
      leaseMs: 3000,
      since: clock.now(),
      renew: async (at) => {
        renewals.push(at - clock.now());
        return 'renewed';
      },
      onLost: (why) => lost.push(why),
    });
    await clock.advance(10_000);
    keeper.stop();
    expect(renewals).toHaveLength(10);
    expect(lost).toEqual([]);
  });

  it('stops the attempt before the lease lapses when renewals keep failing', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    let lostAt: number | undefined;
    const errors: unknown[] = [];
    new LeaseKeeper({
      clock,
      leaseMs: 3000,
      since: start,
      renew: async () => {
        throw new Error('store lock timed out');
      },
      onLost: () => {
        lostAt = clock.now();
      },
      onError: (error) => errors.push(error),
    });
    await clock.advance(5000);
    expect(lostAt).toBe(start + 3000 - stopMarginMs(3000));
    expect(lostAt).toBeLessThan(start + 3000);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('says the lease is lost at once when a renewal is declined (someone else holds the task)', async () => {
    const clock = new FakeClock();
    const lost: string[] = [];
    new LeaseKeeper({
      clock,
      leaseMs: 3000,
      since: clock.now(),
      renew: async () => 'declined',
      onLost: (why) => lost.push(why),
    });
    await clock.advance(1000);
    expect(lost).toEqual(['declined']);
    await clock.advance(5000);
    expect(lost).toEqual(['declined']);
  });
});
