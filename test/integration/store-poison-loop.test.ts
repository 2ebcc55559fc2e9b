/**
 * Lines that used to stop a running `ygg loop` for good (a wrong-shaped key, a line nested
 * 100,000 deep, a status that is not a string), appended to the store of a real loop process
 * beside valid tasks: the loop goes on, the valid tasks close, the bad lines stay byte for byte
 * and are reported with file and line, and `--until-idle` ends when only they remain.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { startLoop, workspace } from '../helpers/running-loop.js';
import { readTasks, waitForTasks } from '../helpers/store-file.js';

const now = () => new Date().toISOString();
const issue = (id: string, extra: Record<string, unknown>) =>
  JSON.stringify({
    id,
    title: `poison ${id}`,
    status: 'open',
    priority: 2,
    issue_type: 'task',
    created_at: now(),
    updated_at: now(),
    ...extra,
  });

interface Poison {
  id: string;
  line: string;
  kind: string;
  /** The key a `bad-shape` report names. */
  key?: string;
}

/** Issue 13's cases 1-3: each used to stop the loop, stall it, or leave `--until-idle` running. */
const cases: Array<[string, () => Poison[]]> = [
  [
    'wrong-shaped ygg metadata and dependencies (case 1)',
    () => [
      {
        id: 'bad-history',
        line: issue('bad-history', { metadata: { ygg: { handler: 'simulate', history: {} } } }),
        key: 'metadata.ygg.history',
        kind: 'bad-shape',
      },
      {
        id: 'bad-lease',
        line: issue('bad-lease', { status: 'in_progress', metadata: { ygg: { lease: 'garbage' } } }),
        key: 'metadata.ygg.lease',
        kind: 'bad-shape',
      },
      {
        id: 'bad-deps',
        line: issue('bad-deps', {
          dependencies: [{ depends_on_id: 5, type: 'blocks' }, null, 'x'],
          metadata: { ygg: { handler: 'simulate' } },
        }),
        key: 'dependencies[0].depends_on_id',
        kind: 'bad-shape',
      },
    ],
  ],
  [
    'a line nested 100,000 deep (case 2)',
    () => [
      {
        id: 'bad-deep',
        line: issue('bad-deep', { metadata: { ygg: { handler: 'simulate' } } }).replace(
          /}$/,
          `,"deep":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
        ),
        kind: 'too-deep',
      },
    ],
  ],
  [
    'a status that is not a string (case 3)',
    () => [
      {
        id: 'bad-status',
        line: issue('bad-status', { status: 7, metadata: { ygg: { handler: 'simulate', simulate_ms: 10 } } }),
        key: 'status',
        kind: 'bad-shape',
      },
    ],
  ],
];

describe('poison lines beside a running loop', () => {
  it.each(cases)(
    '%s: the loop goes on, the lines stay and are reported, --until-idle ends',
    async (_, make) => {
      const ws = await workspace('poison-loop');
      const loop = await startLoop(ws.dir);
      const valid: string[] = [];
      const addValid = async (id: string) => {
        valid.push(id);
        await ws.add(id, `valid ${id}`, { handler: 'simulate', simulate_ms: 10 });
      };
      await addValid('ok-0');
      await waitForTasks(ws.store, (ts) => ts.some((t) => t.id === 'ok-0' && t.status === 'closed'));
      const bad = make();
      for (const [i, p] of bad.entries()) {
        await appendFile(ws.store, `${p.line}\n`);
        await addValid(`ok-${i + 1}`);
      }
      await waitForTasks(
        ws.store,
        (ts) => valid.every((id) => ts.some((t) => t.id === id && t.status === 'closed')),
        60_000,
      ).catch((error) => {
        throw new Error(`${error}\nloop stderr:\n${loop.stderr()}`);
      });
      expect(loop.child.exitCode, loop.stderr()).toBeNull();

      const text = await readFile(ws.store, 'utf8');
      const lines = text.split('\n');
      for (const p of bad) expect(lines.includes(p.line), `${p.id} changed`).toBe(true);
      // Told by the loop on stderr, with file and line (and the key for a wrong shape).
      for (const p of bad) {
        const at = lines.indexOf(p.line) + 1;
        expect(loop.stderr()).toContain(`${ws.store}:${at}: `);
        if (p.key) expect(loop.stderr()).toContain(`"${p.key}"`);
      }
      expect(loop.child.exitCode).toBeNull();
      await loop.stop();

      // `ygg list` reports them too; `list --ready` does not offer the status-7 task.
      const list = await runYgg(['list'], { cwd: ws.dir });
      expect(list.code, list.stderr).toBe(0);
      for (const p of bad) {
        expect(list.stderr).toContain(
          p.kind === 'bad-shape' ? `issue ${p.id}: "${p.key}"` : 'nests deeper than 512',
        );
        if (p.kind === 'bad-shape') expect(list.stdout).toContain(p.id);
      }
      const ready = await runYgg(['list', '--ready'], { cwd: ws.dir });
      expect(ready.code, ready.stderr).toBe(0);
      expect(ready.stdout).not.toContain('bad-');

      // Only tasks that cannot run remain besides one new valid task: --until-idle runs it and ends,
      // exiting 3 and naming each open task it cannot use, with why (issue 16).
      await addValid('ok-last');
      const idle = await runYgg(['loop', '--until-idle', '--no-status'], { cwd: ws.dir, timeoutMs: 60_000 });
      // A line ygg does not read at all (too deep) is no task of its: it is told, not left.
      const unread = new Set(bad.filter((p) => p.kind === 'too-deep').map((p) => p.id));
      const open = (await readTasks(ws.store))
        .filter((t) => t.status === 'open' && !unread.has(t.id))
        .map((t) => t.id);
      expect(idle.code, idle.stderr).toBe(open.length > 0 ? 3 : 0);
      for (const id of open) expect(idle.stderr).toMatch(new RegExp(`${id} .*: ygg cannot use this task: `));
      const tasks = await readTasks(ws.store);
      expect(tasks.find((t) => t.id === 'ok-last')?.status).toBe('closed');
      const finalLines = (await readFile(ws.store, 'utf8')).split('\n');
      for (const p of bad) expect(finalLines.includes(p.line), `${p.id} changed`).toBe(true);
    },
    150_000,
  );
});
