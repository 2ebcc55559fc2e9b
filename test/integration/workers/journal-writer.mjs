// Closes tasks through a journal-mode store (as a running loop writes), one commit per task.
// Prints `closed ID` once each write is acknowledged, then `done`, and waits: SIGTERM closes the
// store (which folds the journal into the file) and exits 0; SIGKILL leaves the journal unfolded.
// Usage: node journal-writer.mjs FILE FOLD_MS|default ID...
import { BeadsJsonlStore } from '../../../dist/src/store/beads-jsonl/beads-store.js';

const [file, fold, ...ids] = process.argv.slice(2);
const store = await BeadsJsonlStore.open({
  path: file,
  journal: true,
  ...(fold === 'default' ? {} : { foldMs: Number(fold) }),
});
process.on('SIGTERM', () => {
  void store.close().then(() => process.exit(0));
});
for (const id of ids) {
  const now = new Date().toISOString();
  const written = await store.update(id, (t) => ({
    ...t,
    status: 'closed',
    closed_at: now,
    close_reason: 'done',
    notes: `closed by ${process.pid}`,
    comments: [
      ...(t.comments ?? []),
      { id: `c-${id}`, issue_id: id, author: 'ygg', text: 'closed by the writer', created_at: now },
    ],
    updated_at: now,
  }));
  if (written) process.stdout.write(`closed ${id}\n`);
}
process.stdout.write('done\n');
setInterval(() => undefined, 1 << 30);
