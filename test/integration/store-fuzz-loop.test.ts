/**
 * Fuzz: generated bad Beads lines (a wrong type at every key of an issue and of `metadata.ygg`,
 * deep nesting, lines over 1 MiB, broken encodings, cut JSON) appended to a running loop's store for
 * a bounded time beside valid tasks. The loop never exits, every valid task closes, every bad
 * line stays byte for byte and is reported as a store problem with its line. Lines come from
 * fast-check with a seed printed on failure (rerun with FUZZ_SEED=...).
 */
import { appendFile, readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import type { Task } from '../../src/store/task.js';
import { type RunningLoop, startLoop, workspace } from '../helpers/running-loop.js';
import { waitUntil } from '../helpers/wait.js';

/** How long lines are appended; then the test waits for the valid tasks to close. */
const fuzzMs = Number(process.env.FUZZ_MS ?? 15_000);

/** Values of every JSON type but `except` (and never null where null is allowed). */
const anyBut = (...except: Array<'string' | 'number' | 'boolean' | 'array' | 'object' | 'null'>) =>
  fc
    .oneof(
      fc.string({ maxLength: 8 }),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    )
    .filter((v) => {
      const type = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
      return !(except as string[]).includes(type);
    });

/** For each key ygg reads on an issue: a value of the wrong shape (bd keys: null is allowed). */
const wrongIssueKey: fc.Arbitrary<[string, unknown]> = fc.oneof(
  fc.tuple(
    fc.constantFrom(
      'status',
      'description',
      'design',
      'acceptance_criteria',
      'notes',
      'issue_type',
      'assignee',
      'owner',
      'created_by',
      'created_at',
      'updated_at',
      'started_at',
      'closed_at',
      'close_reason',
      'defer_until',
      'title',
    ),
    anyBut('string', 'null'),
  ),
  fc.tuple(fc.constant('priority'), fc.oneof(anyBut('number', 'null'), fc.constantFrom(-1, 5, 2.5))),
  fc.tuple(fc.constantFrom('pinned', 'ephemeral'), anyBut('boolean', 'null')),
  fc.tuple(
    fc.constantFrom('labels'),
    fc.oneof(anyBut('array', 'null'), fc.array(anyBut('string'), { minLength: 1, maxLength: 3 })),
  ),
  fc.tuple(
    fc.constant('dependencies'),
    fc.oneof(
      anyBut('array', 'null'),
      fc.array(anyBut('object'), { minLength: 1, maxLength: 3 }),
      fc
        .record({ depends_on_id: anyBut('string'), type: fc.constantFrom('blocks', 'parent-child') })
        .map((d) => [d]),
      fc.record({ depends_on_id: fc.constant('ok-1'), type: anyBut('string') }).map((d) => [d]),
    ),
  ),
  fc.tuple(
    fc.constant('comments'),
    fc.oneof(anyBut('array', 'null'), fc.array(anyBut('object'), { minLength: 1 })),
  ),
);

/** For each key of `metadata.ygg`: a value of the wrong shape (ygg never writes null there). */
const wrongYggKey: fc.Arbitrary<[string, unknown]> = fc.oneof(
  fc.tuple(fc.constantFrom('handler', 'next_try_at', 'retried_at', 'boosted', 'group'), anyBut('string')),
  fc.tuple(
    fc.constantFrom('simulate_ms', 'timeout_ms', 'hard_timeout_ms', 'attempts', 'attempt'),
    anyBut('number'),
  ),
  fc.tuple(fc.constant('argv'), fc.oneof(anyBut('array'), fc.array(anyBut('string'), { minLength: 1 }))),
  fc.tuple(
    fc.constant('limits'),
    // A limit's value is a number, true/false or a size or duration in text (checked when it runs).
    fc.oneof(anyBut('object'), fc.record({ cpu_s: anyBut('number', 'boolean', 'string') })),
  ),
  fc.tuple(
    fc.constant('lease'),
    fc.oneof(
      anyBut('object'),
      fc.record({ owner: anyBut('string'), token: fc.nat(), expires: fc.constant('2020-01-01T00:00:00Z') }),
      fc.record({ owner: fc.constant('elsewhere:1:1'), token: anyBut('number'), expires: fc.constant('x') }),
      fc.record({ owner: fc.constant('elsewhere:1:1'), token: fc.nat(), expires: anyBut('string') }),
    ),
  ),
  fc.tuple(
    fc.constantFrom('dead', 'cancelled'),
    fc.oneof(anyBut('object'), fc.record({ at: anyBut('string') })),
  ),
  fc.tuple(
    fc.constant('history'),
    fc.oneof(
      anyBut('array'),
      fc.array(anyBut('object'), { minLength: 1, maxLength: 3 }),
      fc.record({ start: anyBut('string'), host: fc.constant('surtr') }).map((h) => [h]),
      fc.record({ start: fc.constant('2020-01-01T00:00:00Z'), outcome: anyBut('string') }).map((h) => [h]),
    ),
  ),
  fc.tuple(fc.constant('(metadata.ygg itself)'), anyBut('object')),
);

/** A well-shaped issue around the wrong key; sometimes in progress under a lapsed lease (an orphan). */
const issueBase = (id: string) =>
  fc.record({
    id: fc.constant(id),
    title: fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constant('t \ud800 lone surrogate')),
    status: fc.constantFrom('open', 'in_progress', 'closed', 'blocked', 'review'),
    priority: fc.integer({ min: 0, max: 4 }),
    issue_type: fc.constantFrom('task', 'bug', 'epic'),
    labels: fc.constantFrom(undefined, ['gpu'], ['boost']),
    metadata: fc.constantFrom(
      { ygg: { handler: 'simulate', simulate_ms: 5 } },
      {
        ygg: {
          handler: 'simulate',
          lease: { owner: 'elsewhere:1:1', token: 1, expires: '2020-01-01T00:00:00Z' },
          attempt: 1,
        },
      },
      { other: 'kept' },
    ),
  });

type BadLine = { id: string; bytes: Buffer };

const asLine = (value: unknown) => Buffer.from(JSON.stringify(value));

/** Lines over 1 MiB (reported as large, and wrong in a key too); a few per run keep the test quick. */
function largeLine(id: string): fc.Arbitrary<BadLine> {
  return fc
    .tuple(issueBase(id), wrongIssueKey, fc.integer({ min: 900_000, max: 1_300_000 }))
    .map(([base, [key, value], size]) => ({
      id,
      bytes: asLine({ ...base, padding: 'x'.repeat(size), [key]: value }),
    }));
}

function badLine(id: string): fc.Arbitrary<BadLine> {
  const shaped = (entry: fc.Arbitrary<[string, unknown]>, where: 'issue' | 'ygg') =>
    fc.tuple(issueBase(id), entry).map(([base, [key, value]]) => {
      const task: Record<string, unknown> = { ...base };
      if (where === 'issue') task[key] = value;
      else if (key === '(metadata.ygg itself)') task.metadata = { ygg: value };
      else task.metadata = { ygg: { handler: 'simulate', [key]: value } };
      return asLine(task);
    });
  const nested = fc
    .tuple(issueBase(id), fc.integer({ min: 513, max: 3000 }), fc.constantFrom('[', '{"a":'))
    .map(([base, depth, open]) => {
      const close = open === '[' ? ']' : '}';
      const deep = `${open.repeat(depth)}${open === '[' ? '' : '1'}${close.repeat(depth)}`;
      return Buffer.from(JSON.stringify(base).replace(/}$/, `,"deep":${deep}}`));
    });
  const encoding = fc
    .tuple(
      issueBase(id),
      fc.constantFrom([0xff], [0xc0, 0xaf], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0x00], [0x0d]),
      fc.boolean(),
    )
    .map(([base, bytes, bom]) => {
      const text = JSON.stringify(base);
      const at = text.indexOf('"title":"') + '"title":"'.length;
      const line = Buffer.concat([
        Buffer.from(text.slice(0, at)),
        Buffer.from(bytes),
        Buffer.from(text.slice(at)),
      ]);
      return bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), line]) : line;
    });
  const cut = fc
    .tuple(issueBase(id), fc.integer({ min: 1, max: 60 }))
    .map(([base, n]) => asLine(base).subarray(0, Math.max(1, asLine(base).length - n)));
  const notAnIssue = fc.oneof(anyBut('object'), fc.record({ title: fc.string() })).map(asLine);
  return fc
    .oneof(
      { weight: 6, arbitrary: shaped(wrongIssueKey, 'issue') },
      { weight: 6, arbitrary: shaped(wrongYggKey, 'ygg') },
      { weight: 2, arbitrary: nested },
      { weight: 2, arbitrary: encoding },
      { weight: 1, arbitrary: cut },
      { weight: 1, arbitrary: notAnIssue },
    )
    .map((bytes) => ({ id, bytes }));
}

const splitLines = (buf: Buffer): Buffer[] => {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, start)) {
    lines.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  return lines;
};

/** The valid tasks in the file (their lines start with their id), without parsing the bad lines. */
async function validTasks(path: string): Promise<Task[]> {
  const prefix = Buffer.from('{"id":"ok-');
  return splitLines(await readFile(path))
    .filter((line) => line.subarray(0, prefix.length).equals(prefix))
    .map((line) => JSON.parse(line.toString('utf8')) as Task);
}

describe('fuzzed Beads lines beside a running loop', () => {
  it('never stops the loop, closes every valid task, keeps and reports every bad line', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
    const ws = await workspace('fuzz-loop');
    let loop: RunningLoop | undefined;
    const valid: string[] = [];
    const bad: BadLine[] = [];
    try {
      loop = await startLoop(ws.dir);
      let round = 0;
      const end = Date.now() + fuzzMs;
      while (Date.now() < end) {
        const lines = fc.sample(
          fc
            .integer({ min: 1, max: 3 })
            .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => badLine(`fz-${round}-${i}`)))),
          { numRuns: 1, seed: seed + round },
        )[0] as BadLine[];
        if (round % 20 === 5) lines.push(...fc.sample(largeLine(`fz-${round}-large`), { numRuns: 1, seed }));
        bad.push(...lines);
        await appendFile(ws.store, Buffer.concat(lines.flatMap((l) => [l.bytes, Buffer.from('\n')])));
        const id = `ok-${round}`;
        valid.push(id);
        await ws.add(id, `valid ${id}`, { handler: 'simulate', simulate_ms: 5 });
        round += 1;
        expect(loop.child.exitCode, `loop exited; stderr:\n${loop.stderr()}`).toBeNull();
        // Wait on the loop a moment between rounds: appends outpacing every read are no test.
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await waitUntil(
        async () => {
          const open = (await validTasks(ws.store)).filter((t) => t.status !== 'closed');
          return open.length === 0 && (await validTasks(ws.store)).length === valid.length;
        },
        { timeoutMs: 120_000, intervalMs: 500, what: 'every valid task closed' },
      ).catch(async (error) => {
        const open = (await validTasks(ws.store)).filter((t) => t.status !== 'closed');
        throw new Error(`${error}; not closed: ${JSON.stringify(open).slice(0, 3000)}`);
      });
      expect(loop.child.exitCode, `loop exited; stderr:\n${loop.stderr()}`).toBeNull();

      const bytes = await readFile(ws.store);
      const lines = splitLines(bytes);
      const at = new Map(lines.map((line, i) => [line.toString('latin1'), i + 1]));
      await using store = await BeadsJsonlStore.open({ path: ws.store });
      const reported = new Set(store.problems().map((p) => p.line));
      for (const line of bad) {
        const number = at.get(line.bytes.toString('latin1'));
        expect(number, `bad line ${line.id} changed or lost`).toBeDefined();
        expect(reported.has(number as number), `bad line ${line.id} (line ${number}) not reported`).toBe(
          true,
        );
      }
      expect(bad.length).toBeGreaterThan(20);
      console.log(`fuzz: ${bad.length} bad lines, ${valid.length} valid tasks, FUZZ_SEED=${seed}`);
    } catch (error) {
      throw new Error(
        `fuzz failed with FUZZ_SEED=${seed}: ${error instanceof Error ? error.message : error}\nloop stderr (tail):\n${loop?.stderr().slice(-4000)}`,
      );
    }
  }, 240_000);
});
