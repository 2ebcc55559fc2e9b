import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { nestsDeeperThan } from '../../src/store/beads-jsonl/json-scan.js';
import {
  dependenciesOf,
  invalidStatus,
  labelsOf,
  priorityOf,
  statusOf,
  submitterOf,
  type Task,
  yggOf,
} from '../../src/store/task.js';
import { taskShapeProblem } from '../../src/store/task-shape.js';
import { testDir } from '../helpers/tmp.js';

const base = { id: 'p-1', title: 't', status: 'open', priority: 2, issue_type: 'task' };
const line = (extra: Record<string, unknown>) => JSON.stringify({ ...base, ...extra });

describe('the shape of a task', () => {
  it('names the first wrong-shaped key of the poison lines that used to stop the loop', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ metadata: { ygg: { history: {} } } }, 'metadata.ygg.history'],
      [{ status: 'in_progress', metadata: { ygg: { lease: 'garbage' } } }, 'metadata.ygg.lease'],
      [{ metadata: { ygg: { lease: { owner: 5, token: 1, expires: 'x' } } } }, 'metadata.ygg.lease.owner'],
      [{ metadata: { ygg: { lease: { token: 1, expires: 'x' } } } }, 'metadata.ygg.lease.owner'],
      [{ dependencies: [{ depends_on_id: 5, type: 'blocks' }, null, 'x'] }, 'dependencies[0].depends_on_id'],
      [{ dependencies: [null] }, 'dependencies[0]'],
      [{ status: 7 }, 'status'],
      [{ labels: 'gpu' }, 'labels'],
      [{ labels: ['a', 3] }, 'labels[1]'],
      [{ metadata: { ygg: [] } }, 'metadata.ygg'],
      [{ metadata: { ygg: { history: [{ start: 1 }] } } }, 'metadata.ygg.history[0].start'],
      [{ metadata: { ygg: { argv: 'rm -rf /' } } }, 'metadata.ygg.argv'],
      [{ metadata: { ygg: { timeout_ms: '5s' } } }, 'metadata.ygg.timeout_ms'],
      [{ assignee: {} }, 'assignee'],
      [{ pinned: 'yes' }, 'pinned'],
    ];
    for (const [extra, key] of cases) {
      const problem = taskShapeProblem({ ...base, ...extra });
      expect(problem?.key, JSON.stringify(extra)).toBe(key);
      expect(problem?.message).toContain(`"${key}"`);
    }
  });

  it('accepts what bd and ygg write: custom statuses, nulls in bd keys, free-form metadata', () => {
    for (const extra of [
      { status: 'review' },
      { status: null, labels: null, assignee: null },
      { metadata: 'free text' },
      { metadata: { other: { deep: [1, { x: null }] } } },
      {
        metadata: {
          ygg: {
            lease: { owner: 'h:1:2', token: 3, expires: '2026-01-01T00:00:00Z', host: 'surtr' },
            history: [{ attempt: 1, host: 'surtr', start: '2026-01-01T00:00:00Z', outcome: 'lost' }],
            limits: { cpu_s: 2, network: false },
            custom_key: { anything: true },
          },
        },
      },
    ]) {
      expect(taskShapeProblem({ ...base, ...extra }), JSON.stringify(extra)).toBeUndefined();
    }
  });

  it('reads any JSON without throwing, handing out only well-shaped values', () => {
    const anyTask = fc.record({
      id: fc.string(),
      title: fc.string(),
      status: fc.jsonValue(),
      priority: fc.jsonValue(),
      labels: fc.jsonValue(),
      dependencies: fc.jsonValue(),
      created_by: fc.jsonValue(),
      metadata: fc.oneof(
        fc.jsonValue(),
        fc.record({
          ygg: fc.dictionary(
            fc.constantFrom('history', 'lease', 'dead', 'argv', 'attempt', 'cancelled'),
            fc.jsonValue(),
          ),
        }),
      ),
    });
    fc.assert(
      fc.property(anyTask, (raw) => {
        const task = raw as unknown as Task;
        expect(typeof statusOf(task)).toBe('string');
        expect(Number.isFinite(priorityOf(task))).toBe(true);
        expect(labelsOf(task).every((l) => typeof l === 'string')).toBe(true);
        expect(dependenciesOf(task).every((d) => typeof d.depends_on_id === 'string')).toBe(true);
        expect(typeof submitterOf(task)).toBe('string');
        const ygg = yggOf(task);
        expect(ygg.history === undefined || Array.isArray(ygg.history)).toBe(true);
        expect(ygg.lease === undefined || typeof ygg.lease.owner === 'string').toBe(true);
        // Whatever the reader drops, the shape check names.
        if (ygg !== (task.metadata as { ygg?: unknown } | undefined)?.ygg && Object.keys(ygg).length > 0)
          expect(taskShapeProblem(task)).toBeDefined();
      }),
      { numRuns: 500 },
    );
    expect(statusOf({ ...base, status: 7 } as unknown as Task)).toBe(invalidStatus);
  });
});

describe('wrong shapes and limits in the Beads file', () => {
  it('measures nesting like JSON.parse does, brackets and escaped quotes inside strings included', () => {
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0;
    const tricky = fc.oneof(fc.string(), fc.constantFrom('\\', '"', '\\"', '[{', '\\\\"]}'));
    const { json } = fc.letrec<{ json: unknown }>((tie) => ({
      json: fc.oneof(
        { maxDepth: 8 },
        tricky,
        fc.integer(),
        fc.array(tie('json'), { maxLength: 3 }),
        fc.dictionary(tricky, tie('json'), { maxKeys: 3 }),
      ),
    }));
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 6 }), (v, limit) => {
        expect(nestsDeeperThan(Buffer.from(JSON.stringify(v)), limit)).toBe(depthOf(v) > limit);
      }),
      { numRuns: 1000 },
    );
  });

  it('reports a wrong-shaped task once with file, line and key, never readies or changes it', async () => {
    const dir = await testDir('shape-lines');
    const file = join(dir, 'issues.jsonl');
    const lines = [
      line({ id: 'ok-1' }),
      line({ id: 'bad-1', metadata: { ygg: { history: {} } } }),
      line({ id: 'bad-2', status: 'in_progress', metadata: { ygg: { lease: 'garbage' } } }),
      line({ id: 'bad-3', dependencies: [{ depends_on_id: 5, type: 'blocks' }, null, 'x'] }),
      line({ id: 'bad-4', status: 7 }),
      line({ id: 'custom-1', status: 'review' }),
    ];
    const original = `${lines.join('\n')}\n`;
    writeFileSync(file, original);
    await using store = await BeadsJsonlStore.open({ path: file });
    expect(store.problems().map((p) => [p.line, p.kind, p.key])).toEqual([
      [2, 'bad-shape', 'metadata.ygg.history'],
      [3, 'bad-shape', 'metadata.ygg.lease'],
      [4, 'bad-shape', 'dependencies[0].depends_on_id'],
      [5, 'bad-shape', 'status'],
    ]);
    for (const p of store.problems()) expect(p.message).toMatch(new RegExp(`^${file}:${p.line}: issue bad-`));
    expect(store.ready().map((t) => t.id)).toEqual(['ok-1']);
    // Listed (they are issues), but a status that is not a string is no status a filter asks for.
    expect(store.list().map((t) => t.id)).toEqual(['ok-1', 'bad-1', 'bad-2', 'bad-3', 'bad-4', 'custom-1']);
    expect(store.list(['open']).map((t) => t.id)).toEqual(['ok-1', 'bad-1', 'bad-3']);
    // ygg does not change such a line: a mutation is declined, the bytes stay.
    for (const id of ['bad-1', 'bad-2', 'bad-3', 'bad-4']) {
      expect(await store.update(id, (t) => ({ ...t, status: 'closed' }))).toBeUndefined();
    }
    await store.update('ok-1', (t) => ({ ...t, status: 'closed' }));
    await store.rewrite();
    const after = readFileSync(file, 'utf8').split('\n');
    expect(after.slice(1, 6)).toEqual(lines.slice(1, 6));
    // Nor does it write one itself.
    await expect(
      store.update('ok-1', (t) => ({ ...t, metadata: { ygg: { history: 'x' } } })),
    ).rejects.toThrow(/metadata\.ygg\.history/);
    await expect(store.add({ title: 'x', metadata: { ygg: { argv: 'ls' } } })).rejects.toThrow(
      /metadata\.ygg\.argv/,
    );
  });

  it('turns away a line nested 100,000 deep and one over the size limit, keeping both byte for byte', async () => {
    const dir = await testDir('limit-lines');
    const file = join(dir, 'issues.jsonl');
    const deepIssue = `{"id":"deep-1","title":"d","metadata":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const deepArray = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const deepObject = `{"id":"deep-2","title":"d","x":${'{"a":'.repeat(600)}1${'}'.repeat(600)}}`;
    const bracketsInText = line({ id: 'text-1', description: `\\"${'['.repeat(3000)}\\\\"{{{` });
    const huge = line({ id: 'huge-1', description: 'x'.repeat(17 * 1024 * 1024) });
    const lines = [line({ id: 'ok-1' }), deepIssue, deepArray, deepObject, bracketsInText, huge];
    writeFileSync(file, `${lines.join('\n')}\n`);
    await using store = await BeadsJsonlStore.open({ path: file });
    expect(store.problems().map((p) => [p.line, p.kind])).toEqual([
      [2, 'too-deep'],
      [3, 'too-deep'],
      [4, 'too-deep'],
      [6, 'over-size-limit'],
    ]);
    expect(store.problems()[3]?.message).toMatch(/over the 16\.0 MB limit/);
    expect(store.ready().map((t) => t.id)).toEqual(['ok-1', 'text-1']);
    await store.update('ok-1', (t) => ({ ...t, status: 'closed' }));
    await store.rewrite();
    const after = readFileSync(file, 'utf8').split('\n');
    expect(after.slice(1, 6).map((l, i) => l === lines[i + 1])).toEqual([true, true, true, true, true]);
  });
});
