import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { YggError } from '../../src/errors.js';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { parseLine } from '../../src/store/beads-jsonl/parse-line.js';
import { testDir } from '../helpers/tmp.js';

const good = (id: string) =>
  JSON.stringify({
    id,
    title: `t ${id}`,
    status: 'open',
    priority: 2,
    issue_type: 'task',
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
  });

describe('bad input in the Beads file', () => {
  it('reports each bad line with file, line and a next step, keeps it byte for byte through writes', async () => {
    const dir = await testDir('bad-lines');
    const file = join(dir, 'issues.jsonl');
    const big = JSON.stringify({
      id: 'big-1',
      title: 'big',
      priority: 1,
      description: 'x'.repeat(10 * 1024 * 1024),
    });
    const lines: Buffer[] = [
      Buffer.from(good('ok-1')),
      Buffer.from('this is not json'),
      Buffer.from('[]'),
      Buffer.from('{"id":"cut-1","title":"trunc'),
      Buffer.concat([
        Buffer.from('{"id":"utf-1","title":"bad '),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}'),
      ]),
      Buffer.from(good('ok-1')),
      Buffer.from('{"id":"prio-1","title":"p","priority":7}'),
      Buffer.from('{"id":"notitle-1","priority":1}'),
      Buffer.from('{"title":"no id"}'),
      Buffer.from(big),
      Buffer.from(good('ok-2')),
    ];
    const original = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    writeFileSync(file, original);
    await using store = await BeadsJsonlStore.open({ path: file });
    const problems = store.problems().map((p) => [p.line, p.kind] as const);
    expect(problems).toEqual([
      [2, 'malformed-json'],
      [3, 'not-an-object'],
      [4, 'malformed-json'],
      [5, 'invalid-utf8'],
      [6, 'duplicate-id'],
      [7, 'bad-priority'],
      [8, 'missing-title'],
      [9, 'missing-id'],
      [10, 'too-large'],
    ]);
    for (const p of store.problems()) {
      expect(p.message).toContain(`${file}:${p.line}:`);
      expect(p.hint.length).toBeGreaterThan(10);
    }
    expect(store.list().map((t) => t.id)).toEqual(['ok-1', 'big-1', 'ok-2']);
    await store.update('ok-2', (t) => ({ ...t, title: 'changed' }));
    const after = readFileSync(file);
    const expected = Buffer.concat(
      lines.flatMap((l, i) => [
        i === 10 ? Buffer.from(good('ok-2').replace('"t ok-2"', '"changed"')) : l,
        Buffer.from('\n'),
      ]),
    );
    expect(after.equals(expected)).toBe(true);
  });

  it('names a title that is there but not text as such, not as missing', () => {
    const numbered = parseLine(Buffer.from('{"id":"bad-1","title":5,"status":"open"}'));
    expect(numbered.record.notes?.[0]?.message).toBe('issue bad-1 has a "title" that is not text (5)');
    const missing = parseLine(Buffer.from('{"id":"bad-2","status":"open"}'));
    expect(missing.record.notes?.[0]?.message).toBe('issue bad-2 has no "title"');
  });

  it('keeps a file without a final newline as it is, and appends after it cleanly', async () => {
    const dir = await testDir('no-final-newline');
    const file = join(dir, 'issues.jsonl');
    writeFileSync(file, good('ok-1'));
    await using store = await BeadsJsonlStore.open({ path: file });
    await store.rewrite();
    expect(readFileSync(file, 'utf8')).toBe(good('ok-1'));
    const added = await store.add({ title: 'next' });
    expect(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).id),
    ).toEqual(['ok-1', added.id]);
  });

  it('throws a YggError with a hint for a missing file and for a folder in its place', async () => {
    const dir = await testDir('bad-files');
    const missing = BeadsJsonlStore.open({ path: join(dir, 'nope.jsonl') });
    await expect(missing).rejects.toBeInstanceOf(YggError);
    await expect(missing).rejects.toMatchObject({ hint: expect.stringContaining('ygg init') });
    mkdirSync(join(dir, 'folder.jsonl'));
    await expect(BeadsJsonlStore.open({ path: join(dir, 'folder.jsonl') })).rejects.toMatchObject({
      message: expect.stringContaining('is a folder'),
    });
  });

  it('refuses bad new tasks with a clear error', async () => {
    const dir = await testDir('bad-add');
    const file = join(dir, 'issues.jsonl');
    writeFileSync(file, '');
    await using store = await BeadsJsonlStore.open({ path: file });
    await expect(store.add({ title: '' })).rejects.toBeInstanceOf(YggError);
    await expect(store.add({ title: 'x', priority: 9 })).rejects.toThrow(/outside 0..4/);
    await expect(store.add({ title: 'x'.repeat(501) })).rejects.toThrow(/500 bytes/);
  });
});
