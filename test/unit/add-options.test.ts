import { describe, expect, it } from 'vitest';
import { newTaskFrom, parseDuration, parseMilliseconds } from '../../src/cli/add-task.js';

describe('ygg add options', () => {
  it('reads durations with a unit, or a bare number as seconds (milliseconds for -ms flags)', () => {
    expect(parseDuration('250')).toBe(250_000);
    expect(parseDuration('1.5')).toBe(1500);
    expect(parseMilliseconds('250')).toBe(250);
    expect(parseMilliseconds('2s')).toBe(2000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(() => parseDuration('soon')).toThrow(/250ms, 30s/);
    expect(() => parseDuration('-5s')).toThrow();
  });

  it('stores per-task limits under metadata.ygg, where the loop reads them', () => {
    const task = newTaskFrom({
      title: 't',
      handler: 'simulate',
      simulateMs: 40,
      timeoutMs: 1000,
      hardTimeoutMs: 2000,
      attempts: 2,
      as: 'ann',
    });
    expect(task.metadata).toEqual({
      ygg: { handler: 'simulate', simulate_ms: 40, timeout_ms: 1000, hard_timeout_ms: 2000, attempts: 2 },
    });
  });

  it('runs a task with a simulated time on the simulate handler unless another is named', () => {
    expect(newTaskFrom({ title: 't', simulateMs: 40 }).metadata).toEqual({
      ygg: { handler: 'simulate', simulate_ms: 40 },
    });
    expect(newTaskFrom({ title: 't', handler: 'mine', simulateMs: 40 }).metadata).toEqual({
      ygg: { handler: 'mine', simulate_ms: 40 },
    });
  });

  it('refuses timeouts hosts.yaml would refuse', () => {
    expect(() => newTaskFrom({ title: 't', timeoutMs: 0 })).toThrow(/--timeout 0/);
    expect(() => newTaskFrom({ title: 't', timeoutMs: 5000, hardTimeoutMs: 1000 })).toThrow(
      /--hard-timeout must not be shorter than --timeout/,
    );
    expect(newTaskFrom({ title: 't', timeoutMs: 1000, hardTimeoutMs: 5000 }).metadata).toEqual({
      ygg: { timeout_ms: 1000, hard_timeout_ms: 5000 },
    });
  });
});
