import { describe, expect, it } from 'vitest';
import { RuntimeEstimator } from '../../src/schedule/estimates.js';

describe('RuntimeEstimator', () => {
  it('starts from the config: per host, then overall, then the fallback', () => {
    const estimator = new RuntimeEstimator(
      {
        reasoning: { estimateMs: 400, estimateMsByHost: { surtr: 300 } },
        code: { estimateMsByHost: { a: 100, b: 300 } },
      },
      { fallbackMs: 5000 },
    );
    expect(estimator.expected('reasoning', 'surtr')).toBe(300);
    expect(estimator.expected('reasoning', 'fenrir')).toBe(400);
    expect(estimator.expected('reasoning')).toBe(400);
    expect(estimator.expected('code')).toBe(200);
    expect(estimator.expected('unknown', 'surtr')).toBe(5000);
    expect(estimator.knows('reasoning', 'surtr')).toBe(true);
    expect(estimator.knows('reasoning', 'fenrir')).toBe(false);
    expect(estimator.knows('unknown')).toBe(false);
  });

  it('learns from observations, forgetting a wrong seed quickly', () => {
    const estimator = new RuntimeEstimator(
      { summarize: { estimateMs: 10_000, estimateMsByHost: {} } },
      { alpha: 0.3 },
    );
    estimator.observe('summarize', 'fenrir', 200);
    // The seed counts as one sample: the first observation weighs 1/2.
    expect(estimator.expected('summarize')).toBe(5100);
    expect(estimator.expected('summarize', 'fenrir')).toBe(200);
    for (let i = 0; i < 20; i++) estimator.observe('summarize', 'fenrir', 200);
    expect(estimator.expected('summarize')).toBeLessThan(220);
  });

  it('averages the first observations, then follows a change as a moving average', () => {
    const estimator = new RuntimeEstimator({}, { alpha: 0.25 });
    for (const ms of [100, 200, 300]) estimator.observe('t', 'h', ms);
    expect(estimator.expected('t', 'h')).toBeCloseTo(200);
    // From the fourth sample on the weight is alpha.
    estimator.observe('t', 'h', 600);
    expect(estimator.expected('t', 'h')).toBeCloseTo(300);
    for (let i = 0; i < 30; i++) estimator.observe('t', 'h', 1000);
    expect(estimator.expected('t', 'h')).toBeGreaterThan(990);
  });

  it('keeps hosts apart and uses what other hosts saw for a host with no data', () => {
    const estimator = new RuntimeEstimator();
    estimator.observe('code', 'fast', 100);
    estimator.observe('code', 'slow', 300);
    expect(estimator.expected('code', 'fast')).toBe(100);
    expect(estimator.expected('code', 'slow')).toBe(300);
    expect(estimator.expected('code', 'new')).toBe(200);
  });

  it('ignores impossible observations', () => {
    const estimator = new RuntimeEstimator({}, { fallbackMs: 7 });
    estimator.observe('t', 'h', Number.NaN);
    estimator.observe('t', 'h', -5);
    expect(estimator.expected('t', 'h')).toBe(7);
  });

  it('survives a restart through snapshot and restore', () => {
    const before = new RuntimeEstimator({ t: { estimateMs: 50, estimateMsByHost: {} } });
    for (let i = 0; i < 5; i++) before.observe('t', 'h', 120);
    const after = new RuntimeEstimator({ t: { estimateMs: 50, estimateMsByHost: {} } });
    after.restore(JSON.parse(JSON.stringify(before.snapshot())));
    expect(after.expected('t', 'h')).toBe(before.expected('t', 'h'));
    expect(after.expected('t')).toBe(before.expected('t'));
    after.observe('t', 'h', 120);
    before.observe('t', 'h', 120);
    expect(after.expected('t')).toBe(before.expected('t'));
  });
});
