import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { importIssues } from '../../src/store/postgres/bridge.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { testDir } from '../helpers/tmp.js';

type Line = Record<string, unknown>;
const t0 = '2026-01-01T00:00:00Z';
const issue = (id: string, extra: Line = {}): Line => ({
  id,
  title: `issue ${id}`,
  status: 'open',
  priority: 2,
  issue_type: 'task',
  created_at: t0,
  updated_at: t0,
  ...extra,
});
const dep = (from: string, to: string, type: string, metadata?: string) => ({
  issue_id: from,
  depends_on_id: to,
  type,
  created_at: t0,
  ...(metadata ? { metadata } : {}),
});

let postgres: TestPostgres | undefined;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

/** The same lines in each store: the file, or a fresh database they were imported into. */
const stores = {
  'Beads JSONL': async (file: string) => BeadsJsonlStore.open({ path: file }),
  PostgreSQL: async (file: string) => {
    const url = await (postgres as TestPostgres).newDatabase();
    await importIssues(url, file);
    return PostgresStore.open({ url, runtimeDir: join(file, '..', 'runtime') });
  },
};

describe.each(Object.entries(stores))('ready set (bd rules), %s store', (_name, open) => {
  async function readyIds(lines: Line[], now = new Date('2026-06-01T00:00:00Z')): Promise<string[]> {
    const dir = await testDir('ready');
    mkdirSync(join(dir, '.beads'));
    const file = join(dir, '.beads', 'issues.jsonl');
    writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    await using store = await open(file);
    return store.ready(now).map((t) => t.id);
  }

  it('takes only open issues; missing status means open', async () => {
    const ids = await readyIds([
      issue('a'),
      issue('b', { status: 'in_progress' }),
      issue('c', { status: 'closed', closed_at: t0 }),
      issue('d', { status: 'tombstone' }),
      issue('e', { status: 'hooked' }),
      issue('f', { status: 'deferred' }),
      issue('g', { status: 'blocked' }),
      { id: 'h', title: 'no status', priority: 2, created_at: t0, updated_at: t0 },
    ]);
    expect(ids.sort()).toEqual(['a', 'h']);
  });

  it('skips pinned, ephemeral, excluded types and epics; keeps non-issue lines out', async () => {
    const ids = await readyIds([
      issue('a'),
      issue('p', { pinned: true }),
      issue('e', { ephemeral: true }),
      ...['merge-request', 'gate', 'molecule', 'message', 'agent', 'role', 'rig', 'epic'].map((t) =>
        issue(`t-${t}`, { issue_type: t }),
      ),
      issue('bug', { issue_type: 'bug' }),
      { _type: 'memory', id: 'mem', title: 'a memory' },
    ]);
    expect(ids.sort()).toEqual(['a', 'bug']);
  });

  it('hides defer_until in the future, shows it once past, and hides children of a deferred parent', async () => {
    const lines = [
      issue('past', { defer_until: '2026-05-01T00:00:00Z' }),
      issue('future', { defer_until: '2026-07-01T00:00:00Z' }),
      issue('parent', { issue_type: 'epic', defer_until: '2026-07-01T00:00:00Z' }),
      issue('child', { dependencies: [dep('child', 'parent', 'parent-child')] }),
    ];
    expect(await readyIds(lines)).toEqual(['past']);
    expect((await readyIds(lines, new Date('2026-08-01T00:00:00Z'))).sort()).toEqual([
      'child',
      'future',
      'past',
    ]);
  });

  it('blocks on open blocks and conditional-blocks targets, not on closed, pinned or dangling ones', async () => {
    const ids = await readyIds([
      issue('open-target'),
      issue('closed-target', { status: 'closed', closed_at: t0 }),
      issue('pinned-target', { status: 'pinned' }),
      issue('b1', { dependencies: [dep('b1', 'open-target', 'blocks')] }),
      issue('b2', { dependencies: [dep('b2', 'closed-target', 'blocks')] }),
      issue('b3', { dependencies: [dep('b3', 'pinned-target', 'blocks')] }),
      issue('b4', { dependencies: [dep('b4', 'nowhere', 'blocks')] }),
      issue('c1', { dependencies: [dep('c1', 'open-target', 'conditional-blocks')] }),
      issue('r1', { dependencies: [dep('r1', 'open-target', 'related')] }),
    ]);
    expect(ids.sort()).toEqual(['b2', 'b3', 'b4', 'open-target', 'r1']);
  });

  it('blocks children of a blocked parent, transitively; an open unblocked parent does not block', async () => {
    const ids = await readyIds([
      issue('blocker'),
      issue('top', { issue_type: 'epic', dependencies: [dep('top', 'blocker', 'blocks')] }),
      issue('mid', { issue_type: 'epic', dependencies: [dep('mid', 'top', 'parent-child')] }),
      issue('leaf', { dependencies: [dep('leaf', 'mid', 'parent-child')] }),
      issue('free-parent'),
      issue('free-child', { dependencies: [dep('free-child', 'free-parent', 'parent-child')] }),
    ]);
    expect(ids.sort()).toEqual(['blocker', 'free-child', 'free-parent']);
  });

  it('waits-for: all-children waits for every child, any-children for the first', async () => {
    const spawner = (id: string) => issue(id, { issue_type: 'epic' });
    const child = (id: string, parent: string, status = 'open') =>
      issue(id, {
        status,
        ...(status === 'closed' ? { closed_at: t0 } : {}),
        dependencies: [dep(id, parent, 'parent-child')],
      });
    const ids = await readyIds([
      spawner('s1'),
      child('s1.1', 's1', 'closed'),
      child('s1.2', 's1', 'in_progress'),
      issue('all', { dependencies: [dep('all', 's1', 'waits-for', '{"gate":"all-children"}')] }),
      issue('any', { dependencies: [dep('any', 's1', 'waits-for', '{"gate":"any-children"}')] }),
      spawner('s2'),
      child('s2.1', 's2', 'in_progress'),
      issue('any-none-done', {
        dependencies: [dep('any-none-done', 's2', 'waits-for', '{"gate":"any-children"}')],
      }),
      issue('default-gate', { dependencies: [dep('default-gate', 's2', 'waits-for')] }),
      issue('dangling', { dependencies: [dep('dangling', 'ghost', 'waits-for')] }),
    ]);
    expect(ids.sort()).toEqual(['any', 'dangling']);
  });

  it('orders by priority, then oldest created_at across offsets, then id', async () => {
    const ids = await readyIds([
      issue('z', { priority: 1, created_at: '2026-01-01T10:00:00Z' }),
      issue('y', { priority: 1, created_at: '2026-01-01T01:59:59.999999-08:00' }), // 09:59:59.999999Z
      issue('x', { priority: 1, created_at: '2026-01-01T10:00:00Z' }),
      issue('w', { priority: 0, created_at: '2026-02-01T00:00:00Z' }),
      issue('v', { priority: 3 }),
    ]);
    expect(ids).toEqual(['w', 'y', 'x', 'z', 'v']);
  });
});
