/** When a full pass walks the tasks it did not reach (dispatch/unreached-marks.ts). */
import { describe, expect, it } from 'vitest';
import { UnreachedMarks } from '../../src/dispatch/unreached-marks.js';

const full = 'waiting for a free slot (surtr full)';

describe('UnreachedMarks', () => {
  it('walks first, then only on a new reason, an arrival, or once the interval passed', () => {
    const marks = new UnreachedMarks(250);
    expect(marks.due(full, 1000)).toBe(true);
    marks.walked(full, 1000, true);
    expect(marks.due(full, 1100)).toBe(false);
    expect(marks.due('waiting: every host is down or drained (down: surtr)', 1100)).toBe(true);
    marks.arrived();
    expect(marks.due(full, 1100)).toBe(true);
    marks.walked(full, 1100, true);
    expect(marks.due(full, 1349)).toBe(false);
    expect(marks.due(full, 1350)).toBe(true);
    // A clock set back does not leave the marks stale until it catches up.
    expect(marks.due(full, 900)).toBe(true);
  });

  it('owes a walk only after a skipped pass or a walk that left tasks undecided', () => {
    const marks = new UnreachedMarks(250);
    marks.walked(full, 1000, true);
    expect(marks.owedAt).toBeUndefined();
    marks.skipped();
    expect(marks.owedAt).toBe(1250);
    marks.walked(full, 1250, false);
    expect(marks.owedAt).toBe(1500);
    marks.walked(full, 1500, true);
    expect(marks.owedAt).toBeUndefined();
  });
});
