/** Beads files shaped like the v0.47.2 fixture: old-era timestamps, descriptions, deps, tombstones. */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

const words =
  'the store reads each line and keeps its bytes so a write changes only what it must while the dispatcher claims work routes it to hosts and records results as comments <with> escapes & unicode ü'.split(
    ' ',
  );

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const stamp = (ms: number) => {
  const d = new Date(ms - 8 * 3600_000).toISOString().slice(0, 19);
  return `${d}.${String(ms % 1000).padStart(3, '0')}${String(ms % 997).padStart(3, '0')}-08:00`;
};

/** Writes `count` issues; the first `readyCount` are open and unblocked (work to claim). */
export async function generateBeadsFile(path: string, count: number, readyCount = 1000): Promise<void> {
  const random = rng(count);
  const out = createWriteStream(path);
  const base = Date.parse('2025-11-01T00:00:00Z');
  for (let i = 0; i < count; i++) {
    const id = `bd-${i.toString(36).padStart(5, '0')}`;
    const created = base + i * 60_000;
    const r = random();
    const ready = i < readyCount;
    const status = ready
      ? 'open'
      : r < 0.77
        ? 'closed'
        : r < 0.885
          ? 'tombstone'
          : r < 0.895
            ? 'hooked'
            : 'open';
    const types = ['task', 'task', 'event', 'bug', 'feature', 'epic', 'merge-request', 'chore'];
    const issueType = ready ? 'task' : (types[Math.floor(random() * types.length)] as string);
    const length = Math.floor(random() * 1150);
    let description = '';
    while (description.length < length) description += `${words[Math.floor(random() * words.length)]} `;
    const issue: Record<string, unknown> = { id, title: `Issue ${i}: ${words.slice(0, 6).join(' ')}` };
    if (description) issue.description = description.trim();
    Object.assign(issue, {
      status,
      priority: Math.floor(random() * 4),
      issue_type: issueType,
      created_at: stamp(created),
      created_by: 'stevey',
      updated_at: stamp(created + 1000),
    });
    if (status === 'closed') Object.assign(issue, { closed_at: stamp(created + 5000), close_reason: 'done' });
    if (!ready && i > 10 && random() < 0.3) {
      const target = `bd-${Math.floor(random() * i)
        .toString(36)
        .padStart(5, '0')}`;
      issue.dependencies = [
        {
          issue_id: id,
          depends_on_id: target,
          type: random() < 0.5 ? 'parent-child' : 'blocks',
          created_at: stamp(created),
          created_by: 'stevey',
        },
      ];
    }
    if (issueType === 'event') issue.ephemeral = true;
    const line = JSON.stringify(issue)
      .replace(/</g, '\\u003c')
      .replace(/>/g, '\\u003e')
      .replace(/&/g, '\\u0026');
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
