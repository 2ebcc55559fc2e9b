import { describe, expect, it } from 'vitest';
import { planBatch } from '../../src/store/postgres/batch-plan.js';
import { IssueMirror } from '../../src/store/postgres/mirror.js';
import type { Task } from '../../src/store/task.js';

// A line as bd or an editor may have written it: spaces after colons and commas, a key order of its own.
const line =
  '{"id": "ygg-a1", "title": "spaced", "labels": ["x", "y"], "status": "open", "priority": 2, "created_at": "2026-12-01T10:00:00Z", "metadata": {"note": {"deep": [1, 2.50]}}}';

function mirrorWith(text: string): IssueMirror {
  const mirror = new IssueMirror('test');
  mirror.apply([{ seq: 1, id: 'ygg-a1', line: text, revision: 1 }]);
  return mirror;
}

const env = { nextCreatedMicros: () => Date.now() * 1000 };

describe('a PostgreSQL batch writes a change into the row’s own line', () => {
  it('keeps the bytes of every value the change did not touch, and writes what it did', () => {
    const mirror = mirrorWith(line);
    const plan = planBatch(
      mirror,
      [{ kind: 'update', id: 'ygg-a1', mutation: (t) => ({ ...t, status: 'in_progress' }) }],
      env,
    );
    // The changed object's members are joined anew; each untouched value keeps its spelling.
    expect(plan.writes.get('ygg-a1')?.line).toBe(
      '{"id":"ygg-a1","title":"spaced","labels":["x", "y"],"status":"in_progress","priority":2,"created_at":"2026-12-01T10:00:00Z","metadata":{"note": {"deep": [1, 2.50]}}}',
    );
  });

  it('writes the change of a mutation that broke the rule and changed its argument in place', () => {
    const mirror = mirrorWith(line);
    const plan = planBatch(
      mirror,
      [
        {
          kind: 'update',
          id: 'ygg-a1',
          mutation: (t: Task) => {
            (t.metadata as { note: { deep: number[] } }).note.deep.push(3);
            return t;
          },
        },
      ],
      env,
    );
    expect(plan.writes.get('ygg-a1')?.line).toContain('"metadata":{"note":{"deep":[1,2.50,3]}}');
  });
});
