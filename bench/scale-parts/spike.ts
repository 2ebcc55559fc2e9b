/**
 * The scale bench's baseline, measured in the same run on the same server: the spike
 * design (one row per slot, tasks claimed with their slots in one batched statement, `SKIP
 * LOCKED`) in plain SQL, with 1, 2 or 4 worker processes of 8 (spike-worker.ts). ygg's
 * PostgreSQL figures are read as a ratio to it, which holds on a machine whose speed drifts.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const worker = fileURLToPath(new URL('./spike-worker.ts', import.meta.url));

const schema = `
CREATE TABLE spike_tasks (id integer PRIMARY KEY, status text NOT NULL, worker text, data jsonb NOT NULL);
CREATE INDEX spike_open ON spike_tasks (id) WHERE status = 'open';
CREATE TABLE spike_slots (host text, slot integer, holder integer, PRIMARY KEY (host, slot));
INSERT INTO spike_slots SELECT 'node' || h, s, NULL FROM generate_series(1, 4) h, generate_series(0, 15) s;`;

/** No-op tasks per second: `tasks` inserted at once, until the last is done, by `workers` processes. */
export async function spikeThroughput(url: string, workers: number, tasks: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let children: ChildProcess[] = [];
  try {
    await client.query(schema);
    const done = new Array<number>(workers).fill(0);
    let ready = 0;
    let allReady = () => {};
    const started = new Promise<void>((resolve) => (allReady = resolve));
    children = Array.from({ length: workers }, (_, i) =>
      fork(worker, [url, String(i)], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      }),
    );
    let stderr = '';
    for (const child of children) child.stderr?.on('data', (text) => (stderr += String(text)));
    const finished = Promise.all(
      children.map(
        (child, i) =>
          new Promise<void>((resolve, reject) => {
            child.on('message', (message: { done?: number; ready?: boolean }) => {
              if (message.ready && ++ready === workers) allReady();
              if (message.done !== undefined) done[i] = message.done;
            });
            child.once('exit', (code) =>
              code === 0 ? resolve() : reject(new Error(`spike worker exited ${code}: ${stderr}`)),
            );
          }),
      ),
    );
    // As ygg's dispatchers, the workers are up before the tasks come: the clock starts with the insert.
    await Promise.race([started, finished]);
    const t0 = performance.now();
    await client.query(
      `INSERT INTO spike_tasks SELECT i, 'open', NULL, jsonb_build_object('id', 'bench-' || i,
        'title', 'bench task ' || i, 'status', 'open', 'priority', 2, 'issue_type', 'task',
        'created_at', now(), 'updated_at', now(), 'description', repeat('x', 300),
        'metadata', jsonb_build_object('ygg', jsonb_build_object('handler', 'noop')))
       FROM generate_series(1, ${Math.floor(tasks)}) i`,
    );
    await finished;
    const seconds = (performance.now() - t0) / 1000;
    const total = done.reduce((a, b) => a + b, 0);
    if (total !== tasks) throw new Error(`spike baseline: ${total} of ${tasks} tasks done`);
    return tasks / seconds;
  } finally {
    // A worker that failed leaves the others looking for work: none outlives the run.
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill();
    await client.end();
  }
}
