import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDir } from '../helpers/tmp.js';

const writerScript = new URL('./workers/crash-writer.mjs', import.meta.url).pathname;

/**
 * Starts the writer and kills it with SIGKILL `delayMs` after it reports ready (or, with
 * `afterFirstAck`, after its first acknowledged write, so that a loaded machine that gives it no
 * time before the kill still leaves writes to check); returns its acks.
 */
function runAndKill(file: string, delayMs: number, afterFirstAck = false): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerScript, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const before = out;
      out += d;
      const trigger = afterFirstAck ? /^(add|set) /m : /^ready/m;
      if (!trigger.test(before) && trigger.test(out)) setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer ended without the kill: ${err}`));
      // Only complete lines were acknowledged before the kill.
      const complete = out.slice(0, out.lastIndexOf('\n') + 1);
      resolve(complete.split('\n').filter((l) => l && l !== 'ready'));
    });
  });
}

describe('store writer killed at random moments', () => {
  it('always leaves a parseable file holding every acknowledged write (50 kills)', async () => {
    const dir = await testDir('store-crash');
    mkdirSync(join(dir, '.beads'));
    const file = join(dir, '.beads', 'issues.jsonl');
    writeFileSync(file, '');
    const added = new Set<string>();
    const lastSet = new Map<string, number>();
    for (let round = 0; round < 50; round++) {
      const acks = await runAndKill(file, Math.floor(Math.random() * 120), round % 2 === 1);
      for (const ack of acks) {
        const [kind, id, value] = ack.split(' ') as [string, string, string?];
        if (kind === 'add') added.add(id);
        else lastSet.set(id, Math.max(lastSet.get(id) ?? -1, Number(value)));
      }
      const text = readFileSync(file, 'utf8');
      expect(text === '' || text.endsWith('\n'), `round ${round}: file ends mid-line`).toBe(true);
      const issues = new Map<string, { notes?: string }>();
      for (const line of text.split('\n').filter(Boolean)) {
        const issue = JSON.parse(line) as { id: string; notes?: string };
        issues.set(issue.id, issue);
      }
      for (const id of added) expect(issues.has(id), `round ${round}: acknowledged add ${id}`).toBe(true);
      for (const [id, value] of lastSet) {
        const written = Number(issues.get(id)?.notes?.slice(1) ?? -1);
        expect(written, `round ${round}: acknowledged update of ${id}`).toBeGreaterThanOrEqual(value);
      }
    }
    expect(added.size).toBeGreaterThan(50);
  }, 300_000);
});
