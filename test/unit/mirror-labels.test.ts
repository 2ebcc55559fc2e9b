import { describe, expect, it } from 'vitest';
import { IssueMirror } from '../../src/store/postgres/mirror.js';

const line = (id: string, status: string, labels?: unknown[]) =>
  JSON.stringify({
    id,
    title: id,
    status,
    priority: 2,
    issue_type: 'task',
    created_at: '2026-12-04T08:00:00Z',
    updated_at: '2026-12-04T08:00:00Z',
    ...(labels ? { labels } : {}),
  });

describe('the mirror’s count of takeable tasks by label', () => {
  it('counts open and in-progress tasks carrying a label, as they change, and no others', () => {
    const mirror = new IssueMirror('test');
    mirror.set('a', line('a', 'open', ['boost', 'gpu']));
    mirror.set('b', line('b', 'open', ['gpu']));
    mirror.set('c', line('c', 'closed', ['boost']));
    expect(mirror.takeableWithLabel('boost')).toBe(1);
    expect(mirror.takeableWithLabel('gpu')).toBe(2);
    // Claimed: still takeable (a lapsed lease is taken back), then closed: not.
    mirror.set('a', line('a', 'in_progress', ['boost', 'gpu']));
    expect(mirror.takeableWithLabel('boost')).toBe(1);
    mirror.set('a', line('a', 'closed', ['boost', 'gpu']));
    expect(mirror.takeableWithLabel('boost')).toBe(0);
    // A label taken off, a label repeated, and one that is not a string.
    mirror.set('b', line('b', 'open', ['boost', 'boost', 7]));
    expect(mirror.takeableWithLabel('gpu')).toBe(0);
    expect(mirror.takeableWithLabel('boost')).toBe(1);
    mirror.set('b', line('b', 'open'));
    expect(mirror.takeableWithLabel('boost')).toBe(0);
    // Reopened: counted again.
    mirror.set('c', line('c', 'open', ['boost']));
    expect(mirror.takeableWithLabel('boost')).toBe(1);
  });
});
