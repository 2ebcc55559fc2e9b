import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runYgg, yggBin } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

const fixture = fileURLToPath(new URL('../fixtures/beads/beads-v0.47.2-issues.jsonl', import.meta.url));

interface Issue {
  id: string;
  status?: string;
  priority?: number;
  issue_type?: string;
  created_at?: string;
  pinned?: boolean;
  ephemeral?: boolean;
  defer_until?: string;
  dependencies?: { depends_on_id: string; type: string; metadata?: string }[];
}

/** BEADS-FORMAT.md's ready rules, written out plainly and independently of the store's code. */
function referenceReady(issues: Issue[], now: number): string[] {
  const byId = new Map(issues.map((i) => [i.id, i]));
  const done = (i: Issue) => i.status === 'closed' || i.status === 'pinned';
  const parentsOf = (i: Issue) =>
    (i.dependencies ?? [])
      .filter((d) => d.type === 'parent-child')
      .map((d) => byId.get(d.depends_on_id))
      .filter((p) => p !== undefined);
  const childrenOf = (id: string) =>
    issues.filter((i) =>
      (i.dependencies ?? []).some((d) => d.type === 'parent-child' && d.depends_on_id === id),
    );
  const isBlocked = (i: Issue, seen: Set<string>): boolean => {
    if (seen.has(i.id)) return false;
    seen.add(i.id);
    for (const d of i.dependencies ?? []) {
      const target = byId.get(d.depends_on_id);
      if (!target) continue;
      if ((d.type === 'blocks' || d.type === 'conditional-blocks') && !done(target)) return true;
      if (d.type === 'waits-for') {
        const gate = d.metadata?.includes('any-children') ? 'any' : 'all';
        const kids = childrenOf(target.id);
        if (gate === 'all' && kids.some((k) => !done(k))) return true;
        if (gate === 'any' && kids.length > 0 && !kids.some(done)) return true;
      }
    }
    return parentsOf(i).some((p) => isBlocked(p, seen));
  };
  const excluded = ['merge-request', 'gate', 'molecule', 'message', 'agent', 'role', 'rig', 'epic'];
  const deferred = (i: Issue) => i.defer_until !== undefined && Date.parse(i.defer_until) > now;
  const micros = (s = '') => {
    const m = /\.(\d+)/.exec(s);
    return Date.parse(s) * 1000 + Number(`${m?.[1] ?? ''}000000`.slice(3, 6));
  };
  return issues
    .filter((i) => (i.status ?? 'open') === 'open' && !i.pinned && !i.ephemeral)
    .filter((i) => !excluded.includes(i.issue_type ?? 'task'))
    .filter((i) => !deferred(i) && !parentsOf(i).some(deferred))
    .filter((i) => !isBlocked(i, new Set()))
    .sort(
      (a, b) =>
        (a.priority ?? 0) - (b.priority ?? 0) ||
        micros(a.created_at) - micros(b.created_at) ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )
    .map((i) => i.id);
}

describe('ygg CLI on the store', () => {
  it('lists exactly the fixture issues bd rules make ready, in order', async () => {
    const dir = await testDir('cli-fixture-ready');
    mkdirSync(join(dir, '.beads'));
    copyFileSync(fixture, join(dir, '.beads', 'issues.jsonl'));
    const result = await runYgg(['list', '--ready', '--json'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const listed = JSON.parse(result.stdout) as {
      id: string;
      title: string;
      status: string;
      priority: number;
      type: string;
    }[];
    const issues = readFileSync(fixture, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Issue);
    const expected = referenceReady(issues, Date.now());
    expect(expected.length).toBeGreaterThan(10);
    expect(listed.map((t) => t.id)).toEqual(expected);
    for (const t of listed) {
      expect(t).toMatchObject({ status: 'open', type: expect.any(String), title: expect.any(String) });
      expect(typeof t.priority).toBe('number');
    }
  });

  it('init, add, list, show and create work together', async () => {
    const dir = await testDir('cli-flow');
    const init = await runYgg(['init'], { cwd: dir });
    expect(init.code).toBe(0);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('.ygg/');
    expect(readFileSync(join(dir, '.beads', 'issues.jsonl'), 'utf8')).toBe('');
    const again = await runYgg(['init'], { cwd: dir });
    expect(again.stdout).toContain('kept .beads/issues.jsonl');
    expect(readFileSync(join(dir, '.gitignore'), 'utf8').match(/\.ygg\//g)).toHaveLength(1);

    const first = await runYgg(
      ['add', 'Summarize <notes>', '--type', 'summarize', '--priority', '1', '--as', 'ann'],
      { cwd: dir },
    );
    expect(first.code).toBe(0);
    const id = first.stdout.trim();
    expect(id).toMatch(/^ygg-[0-9a-z]{4,8}$/);
    const second = await runYgg(
      ['add', 'run it', '--blocked-by', id, '--handler', 'shell', '--label', 'x', '--', 'echo', 'a b'],
      { cwd: dir },
    );
    expect(second.code).toBe(0);
    const secondId = second.stdout.trim();

    const shown = JSON.parse((await runYgg(['show', secondId, '--json'], { cwd: dir })).stdout);
    expect(shown.metadata).toEqual({ ygg: { handler: 'shell', argv: ['echo', 'a b'] } });
    expect(shown.dependencies[0]).toMatchObject({ issue_id: secondId, depends_on_id: id, type: 'blocks' });
    const line = readFileSync(join(dir, '.beads', 'issues.jsonl'), 'utf8').split('\n')[0];
    expect(line).toContain('Summarize \\u003cnotes\\u003e');
    expect(JSON.parse(line as string)).toMatchObject({
      labels: ['summarize'],
      created_by: 'ann',
      issue_type: 'task',
    });

    const ready = JSON.parse((await runYgg(['list', '--ready', '--json'], { cwd: dir })).stdout) as {
      id: string;
      type: string;
    }[];
    expect(ready.map((t) => [t.id, t.type])).toEqual([[id, 'summarize']]);

    const created = await runYgg(['create', '6', '--simulate'], { cwd: dir });
    expect(created.stdout.trim().split('\n')).toHaveLength(6);
    const all = JSON.parse((await runYgg(['list', '--json'], { cwd: dir })).stdout) as {
      type: string;
      priority: number;
      metadata?: { ygg?: { simulate_ms?: number; handler?: string } };
    }[];
    const workload = all.filter((t) => t.metadata?.ygg?.handler === 'simulate');
    expect(new Set(workload.map((t) => t.type))).toEqual(
      new Set(['code-generation', 'text-processing', 'reasoning']),
    );
    expect(workload.map((t) => t.metadata?.ygg?.simulate_ms).sort()).toEqual([200, 200, 300, 300, 400, 400]);
    expect(Math.max(...workload.map((t) => t.priority))).toBeLessThanOrEqual(3);
    const byType = JSON.parse((await runYgg(['list', '--type', 'reasoning', '--json'], { cwd: dir })).stdout);
    expect(byType).toHaveLength(2);
    const text = await runYgg(['list'], { cwd: dir });
    expect(text.stdout.split('\n')[0]).toMatch(/^ygg-\w+\tP0\topen\t/);
  });

  it('finds the store by --store and YGG_STORE too', async () => {
    const dir = await testDir('cli-locate');
    writeFileSync(join(dir, 'tasks.jsonl'), '');
    const added = await runYgg(['add', 'one', '--store', join(dir, 'tasks.jsonl')], { cwd: '/' });
    expect(added.code).toBe(0);
    const listed = await runYgg(['list', '--json'], {
      cwd: '/',
      env: { YGG_STORE: join(dir, 'tasks.jsonl') },
    });
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
  });

  it('answers bad input with a clear error, never a stack trace: exit 2 for a bad option value, 1 for the rest', async () => {
    const dir = await testDir('cli-bad');
    const nowhere = await runYgg(['list'], { cwd: dir });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain('ygg init');
    await runYgg(['init'], { cwd: dir });
    for (const usage of [
      ['add', 'x', '--priority', '7'],
      ['create', 'zero'],
    ]) {
      const result = await runYgg(usage, { cwd: dir });
      expect(result.code, usage.join(' ')).toBe(2);
      expect(result.stderr, usage.join(' ')).toMatch(/^ygg: /);
      expect(result.stderr, usage.join(' ')).not.toMatch(/\n\s+at /);
    }
    for (const args of [
      ['add', 'x', '--blocked-by', 'nope-1'],
      ['show', 'nope-1'],
      ['list', '--store', join(dir, 'missing.jsonl')],
    ]) {
      const result = await runYgg(args, { cwd: dir });
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
      expect(result.stderr.length).toBeGreaterThan(10);
    }
    mkdirSync(join(dir, 'folder', '.beads', 'issues.jsonl'), { recursive: true });
    const folder = await runYgg(['list'], { cwd: join(dir, 'folder') });
    expect(folder.code).toBe(1);
    expect(folder.stderr).toContain('is a folder');
  });

  it('reports a file it may not read', async () => {
    const dir = await testDir('cli-permission');
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, '.beads'), { mode: 0o755 });
    const file = join(dir, '.beads', 'issues.jsonl');
    writeFileSync(file, '', { mode: 0o600 });
    // As root, permissions do not bind: run the CLI as nobody instead.
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) chmodSync(file, 0o000);
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [yggBin, 'list'], {
        cwd: dir,
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no permission to read');
  });
});
