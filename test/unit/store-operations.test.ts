import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { addComment, maxCommentBytes } from '../../src/store/operations.js';
import type { Task } from '../../src/store/task.js';
import { nextTimestamp } from '../../src/store/timestamps.js';
import { beadsIssue } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';

const at = (iso: string) => new Date(iso);

async function storeWith(lines: object[], name: string): Promise<BeadsJsonlStore> {
  const dir = await testDir(name);
  const file = join(dir, 'issues.jsonl');
  writeFileSync(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  return BeadsJsonlStore.open({ path: file });
}

const task = (id: string, extra: Record<string, unknown> = {}) => beadsIssue(id, extra) as Task;

describe('Beads-generic helpers on a real store', () => {
  it('moves updated_at strictly forward, with a fraction within the same second', () => {
    const now = at('2026-01-02T00:00:00.700Z');
    expect(nextTimestamp('2026-01-01T23:59:59Z', now)).toBe('2026-01-02T00:00:00Z');
    expect(nextTimestamp('2026-01-02T00:00:00Z', now)).toBe('2026-01-02T00:00:00.7Z');
    expect(nextTimestamp('2026-01-02T00:00:00.9Z', now)).toBe('2026-01-02T00:00:00.900001Z');
    expect(nextTimestamp('2026-01-01T16:00:00.5-08:00', now)).toBe('2026-01-02T00:00:00.7Z');
  });

  it('comment ids follow the file: integers where it uses them, else UUIDs; long text is cut', async () => {
    const withInts = await storeWith(
      [
        task('a', {
          comments: [{ id: 41, issue_id: 'a', author: 'x', text: 'hi', created_at: '2026-01-01T00:00:00Z' }],
        }),
        task('b'),
      ],
      'comment-ints',
    );
    await using _a = withInts;
    const b = await withInts.update(
      'b',
      addComment({ author: 'ygg', text: 'y'.repeat(maxCommentBytes + 100) }),
    );
    expect(b?.comments?.[0]?.id).toBe(42);
    expect(Buffer.byteLength(b?.comments?.[0]?.text ?? '')).toBeLessThan(maxCommentBytes + 100);
    expect(b?.comments?.[0]?.text).toContain('[cut: 100 more bytes]');
    await using plain = await storeWith([task('c')], 'comment-uuid');
    const c = await plain.update('c', addComment({ author: 'ygg', text: 'hi' }));
    expect(String(c?.comments?.[0]?.id)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('scanning a store one task at a time', () => {
  it('gives what list gives, reads only the lines that mention the text, and reads each as it is reached', async () => {
    const store = await storeWith(
      [
        task('a'),
        task('b', { status: 'closed', started_at: '2026-01-01T00:00:00Z' }),
        task('c', { started_at: '2026-01-02T00:00:00Z' }),
        task('d', { status: 'closed' }),
      ],
      'scan',
    );
    const ids = (tasks: Iterable<Task>) => [...tasks].map((t) => t.id);
    expect(ids(store.scan())).toEqual(ids(store.list()));
    expect(ids(store.scan({ statuses: ['closed'] }))).toEqual(['b', 'd']);
    const before = store.stats().tasksMaterialized;
    expect(ids(store.scan({ mentioning: '"started_at"' }))).toEqual(['b', 'c']);
    expect(store.stats().tasksMaterialized - before).toBe(2);
    expect(ids(store.scan({ statuses: ['open'], mentioning: '"started_at"' }))).toEqual(['c']);
    // Lazily: stopping early reads no more lines.
    const early = store.stats().tasksMaterialized;
    for (const t of store.scan()) if (t.id === 'a') break;
    expect(store.stats().tasksMaterialized - early).toBe(1);
    await store.close();
  });
});

describe('store watcher', () => {
  it('reports another writer’s change by id without re-parsing unchanged lines', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => task(`t${i}`));
    await using store = await storeWith(lines, 'watch');
    const parsedAtLoad = store.stats().linesParsed;
    const changes: { added: string[]; changed: string[]; removed: string[]; external: boolean }[] = [];
    const seen = new Promise<void>((resolve) =>
      store.watch((change) => {
        changes.push(change);
        if (change.external) resolve();
      }),
    );
    const edited = lines.map((l) => JSON.stringify(l));
    edited[5] = JSON.stringify(task('t5', { title: 'edited', updated_at: '2026-02-01T00:00:00Z' }));
    edited.splice(10, 1);
    edited.push(JSON.stringify(task('new-1')));
    writeFileSync(`${store.path}.tmp`, `${edited.join('\n')}\n`);
    const { renameSync } = await import('node:fs');
    renameSync(`${store.path}.tmp`, store.path);
    await seen;
    expect(changes.at(-1)).toEqual({ added: ['new-1'], changed: ['t5'], removed: ['t10'], external: true });
    expect(store.stats().linesParsed - parsedAtLoad).toBe(2);
    expect(store.get('t5')?.title).toBe('edited');
    await store.update('t6', (t) => ({ ...t, title: 'ours' }));
    expect(changes.at(-1)).toEqual({ added: [], changed: ['t6'], removed: [], external: false });
  });
});
