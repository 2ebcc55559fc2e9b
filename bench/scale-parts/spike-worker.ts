/**
 * One worker of the scale bench's baseline (forked with IPC): the issue's spike design in plain
 * SQL, as lean as a claim loop on PostgreSQL gets. Tasks (with a JSON body about the size of a
 * bench task's Beads line, which claims and outcomes write to) and slots are rows of their own; each
 * round trip is one transaction that finishes the tasks in hand (no-op) and claims up to 8 more,
 * each with a free slot, both with `FOR UPDATE SKIP LOCKED`. No readiness rules, leases, retries,
 * records or handlers: what the engine itself allows on this machine, for ygg's figures to be read
 * against. Tells the parent `{ ready }` once connected, `{ done }` after each round; exits once
 * tasks were added and none is left undone.
 *
 * argv: URL NUMBER (this worker's, written on the rows it claims)
 */
import pg from 'pg';

const executors = 8;
const [url, numberArg] = process.argv.slice(2) as [string, string];
// Written into the SQL text: a whole number only.
const worker = Number(numberArg);
if (!Number.isInteger(worker) || worker < 0)
  throw new Error(`usage: spike-worker.ts URL NUMBER, not ${numberArg}`);
const name = `w${worker}`;

const claim = (held: readonly number[]) => `BEGIN;
${
  held.length === 0
    ? ''
    : `UPDATE spike_tasks SET status = 'done',
  data = data || jsonb_build_object('outcome', jsonb_build_object('ok', true, 'at', now(), 'by', '${name}'))
  WHERE id IN (${held.join(',')});
UPDATE spike_slots SET holder = NULL WHERE holder IN (${held.join(',')});`
}
WITH t AS (
  SELECT id, row_number() OVER (ORDER BY id) AS n FROM (
    SELECT id FROM spike_tasks WHERE status = 'open' ORDER BY id LIMIT ${executors} FOR UPDATE SKIP LOCKED) a),
s AS (
  SELECT host, slot, row_number() OVER (ORDER BY host, slot) AS n FROM (
    SELECT host, slot FROM spike_slots WHERE holder IS NULL ORDER BY host, slot LIMIT ${executors}
    FOR UPDATE SKIP LOCKED) b),
pairs AS (SELECT t.id, s.host, s.slot FROM t JOIN s USING (n)),
taken AS (UPDATE spike_slots x SET holder = p.id FROM pairs p WHERE x.host = p.host AND x.slot = p.slot)
UPDATE spike_tasks x SET status = 'running', worker = '${name}',
  data = x.data || jsonb_build_object('lease', jsonb_build_object('owner', '${name}', 'host', p.host,
    'slot', p.slot, 'expires', now() + interval '15 seconds'))
  FROM pairs p WHERE x.id = p.id RETURNING x.id, x.data;
COMMIT;`;

const client = new pg.Client({ connectionString: url });
await client.connect();
process.send?.({ ready: true });
let held: number[] = [];
let done = 0;
for (;;) {
  const results = (await client.query(claim(held))) as unknown as pg.QueryResult<{ id: number }>[];
  done += held.length;
  process.send?.({ done });
  held = (results.at(-2)?.rows ?? []).map((row) => Number(row.id));
  if (held.length > 0) continue;
  const left = await client.query<{ all: string; undone: string }>(
    "SELECT count(*) AS all, count(*) FILTER (WHERE status <> 'done') AS undone FROM spike_tasks",
  );
  if (Number(left.rows[0]?.all) > 0 && Number(left.rows[0]?.undone) === 0) break;
  // Not added yet, or others hold the rest: look again in a moment.
  await new Promise((resolve) => setTimeout(resolve, 2));
}
await client.end();
process.disconnect?.();
