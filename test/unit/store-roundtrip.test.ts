import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { goStringify } from '../../src/store/beads-jsonl/go-json.js';
import { spliceJson } from '../../src/store/beads-jsonl/splice.js';
import type { Mutation } from '../../src/store/store.js';
import { nextTimestamp } from '../../src/store/timestamps.js';
import { testDir } from '../helpers/tmp.js';

/** Sets keys of metadata.ygg and moves updated_at forward, as any writer of the file may. */
function setYgg(patch: Record<string, unknown>, now: Date): Mutation {
  return (task) => {
    const metadata = (task.metadata ?? {}) as Record<string, unknown>;
    const ygg = { ...(metadata.ygg as Record<string, unknown> | undefined), ...patch };
    return { ...task, metadata: { ...metadata, ygg }, updated_at: nextTimestamp(task.updated_at, now) };
  };
}

// The shared fixtures sit beside the repository: ../shared/fixtures from its root.
const fixtures = fileURLToPath(new URL('../fixtures/beads/', import.meta.url));

async function copyFixture(name: string): Promise<string> {
  const dir = await testDir(`roundtrip-${name}`);
  mkdirSync(join(dir, '.beads'));
  const file = join(dir, '.beads', 'issues.jsonl');
  copyFileSync(join(fixtures, name), file);
  return file;
}

describe('Beads file round trip', () => {
  it('writes the 3003-issue fixture back byte for byte when nothing changed', async () => {
    const file = await copyFixture('beads-v0.47.2-issues.jsonl');
    const original = readFileSync(file);
    await using store = await BeadsJsonlStore.open({ path: file });
    expect(store.list()).toHaveLength(3003);
    expect(store.problems()).toEqual([]);
    await store.rewrite();
    expect(store.stats().commits).toBe(1);
    expect(readFileSync(file).equals(original)).toBe(true);
  });

  it('changes exactly one line when one task changes, keeping its keys in order and Go escapes', async () => {
    const file = await copyFixture('beads-v0.47.2-issues.jsonl');
    const before = readFileSync(file, 'utf8').split('\n');
    await using store = await BeadsJsonlStore.open({ path: file });
    const target = store.list().find((t) => t.description?.includes('<'));
    expect(target).toBeDefined();
    const id = target?.id as string;
    await store.update(id, setYgg({ handler: 'shell' }, new Date('2030-01-01T00:00:00Z')));
    const after = readFileSync(file, 'utf8').split('\n');
    const changed = after.map((line, i) => (line === before[i] ? -1 : i)).filter((i) => i >= 0);
    expect(changed).toHaveLength(1);
    const at = changed[0] as number;
    const oldLine = before[at] as string;
    const newLine = after[at] as string;
    expect(newLine).toContain('\\u003c');
    expect(newLine).not.toMatch(/[<>]/);
    const oldKeys = Object.keys(JSON.parse(oldLine));
    const newKeys = Object.keys(JSON.parse(newLine));
    // metadata is new: bd writes it after the timestamps and before labels/dependencies/comments.
    expect(newKeys.filter((k) => k !== 'metadata')).toEqual(oldKeys);
    expect(newKeys.indexOf('metadata')).toBeGreaterThan(newKeys.indexOf('updated_at'));
    expect(JSON.parse(newLine).updated_at).toBe('2030-01-01T00:00:00Z');
  });

  it('reads and round-trips a current-era line with the count fields', async () => {
    const file = await copyFixture('current-era-line.jsonl');
    const original = readFileSync(file, 'utf8');
    await using store = await BeadsJsonlStore.open({ path: file });
    const task = store.get('bd-main-idj');
    expect(task?.status).toBe('in_progress');
    expect(store.ready()).toEqual([]);
    await store.rewrite();
    expect(readFileSync(file, 'utf8')).toBe(original);
    await store.update('bd-main-idj', setYgg({ attempt: 1 }, new Date('2026-04-18T16:30:16Z')));
    const line = readFileSync(file, 'utf8').trimEnd();
    const keys = Object.keys(JSON.parse(line));
    expect(keys.slice(-4)).toEqual(['metadata', 'dependency_count', 'dependent_count', 'comment_count']);
    // Same second as the previous updated_at: the new one moves forward with a fraction.
    expect(JSON.parse(line).updated_at).toMatch(/^2026-04-18T16:30:16\.\d+Z$/);
  });
});

describe('Go-compatible JSON', () => {
  it('escapes < > & U+2028 U+2029 and keeps other non-ASCII raw', () => {
    expect(goStringify({ t: '<a> & b \u2028 \u2029 ü 漢' })).toBe(
      '{"t":"\\u003ca\\u003e \\u0026 b \\u2028 \\u2029 ü 漢"}',
    );
  });

  it('reuses the bytes of unchanged parts: number spelling, integer-like keys, escapes', () => {
    const raw = '{"b":1.0,"2":"x","m":{"z":1,"1":2},"s":"\\u003c"}';
    const old = JSON.parse(raw);
    const next = { ...old, m: { ...old.m, y: 3 } };
    expect(spliceJson(raw, old, next)).toBe('{"b":1.0,"2":"x","m":{"z":1,"1":2,"y":3},"s":"\\u003c"}');
  });
});
