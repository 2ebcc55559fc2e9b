import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeUseStep } from '../../src/cli/doctor-runtime.js';
import type { RetentionSettings } from '../../src/config/types.js';
import { type SweepReport, sweepRuntime } from '../../src/observe/retention/sweep.js';
import { TrajectoryRecorder } from '../../src/pipeline/trajectory.js';
import { rotateTrajectoryLog, TrajectoryLog, trajectorySegments } from '../../src/pipeline/trajectory-log.js';
import { testDir } from '../helpers/tmp.js';

const day = 86_400_000;
const KiB = 1024;
/** The injected "now" of every sweep: items are dated relative to it. */
const now = Date.parse('2026-06-01T12:00:00Z');

/** Scaled-down limits; a kind not under test gets room enough to keep everything. */
function settings(overrides: Partial<RetentionSettings> = {}): RetentionSettings {
  const roomy = { maxBytes: 2 ** 30, maxAgeMs: 1000 * day };
  return { intervalMs: 60_000, artifacts: roomy, trajectories: roomy, logs: roomy, ...overrides };
}

/** A file of `bytes` bytes (its folders made), written `daysAgo` days before `now`. */
async function file(path: string, bytes: number, daysAgo: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, Buffer.alloc(bytes, 'x'));
  await age(path, daysAgo);
}

/** Dates a file, or a folder and everything in it. */
async function age(path: string, daysAgo: number): Promise<void> {
  if ((await stat(path)).isDirectory())
    for (const name of await readdir(path)) await age(join(path, name), daysAgo);
  const at = new Date(now - daysAgo * day);
  await utimes(path, at, at);
}

/** An attempt's artifacts: output.txt and a code file, together `bytes`. */
async function attempt(runtimeDir: string, task: string, n: number, bytes: number, daysAgo: number) {
  const dir = join(runtimeDir, 'artifacts', task, String(n));
  await file(join(dir, 'output.txt'), bytes / 2, daysAgo);
  await file(join(dir, 'main.py'), bytes / 2, daysAgo);
  await age(dir, daysAgo);
  return dir;
}

const kind = (report: SweepReport, name: string) => report.kinds.find((k) => k.kind === name)!;

describe('retention of .ygg/', () => {
  it('removes the oldest artifacts first until the kind is under max_bytes, and keeps the newest', async () => {
    const runtimeDir = join(await testDir('retention-bytes'), '.ygg');
    // Five attempts of 4 KiB, 9 to 5 days old, under a 10 KiB limit: the three oldest must go.
    const dirs = [];
    for (const [i, task] of ['a', 'b', 'b', 'c', 'd'].entries())
      dirs.push(await attempt(runtimeDir, task, i + 1, 4 * KiB, 9 - i));
    const report = await sweepRuntime({
      runtimeDir,
      settings: settings({ artifacts: { maxBytes: 10 * KiB, maxAgeMs: 100 * day } }),
      now: () => now,
    });
    expect(kind(report, 'artifacts').removed).toEqual(dirs.slice(0, 3));
    expect(dirs.map((d) => existsSync(d))).toEqual([false, false, false, true, true]);
    expect(kind(report, 'artifacts')).toMatchObject({ bytes: 8 * KiB, items: 2, freedBytes: 12 * KiB });
    // A task's folder goes with its last attempt.
    expect((await readdir(join(runtimeDir, 'artifacts'))).sort()).toEqual(['c', 'd']);

    // Under the limit now: a second sweep removes nothing.
    const again = await sweepRuntime({
      runtimeDir,
      settings: settings({ artifacts: { maxBytes: 10 * KiB, maxAgeMs: 100 * day } }),
      now: () => now,
    });
    expect(kind(again, 'artifacts').removed).toEqual([]);
  });

  it('removes what is older than max_age whatever the size, but never the newest item nor a running task’s', async () => {
    const runtimeDir = join(await testDir('retention-age'), '.ygg');
    const old = await attempt(runtimeDir, 'old', 1, 2 * KiB, 40);
    const running = await attempt(runtimeDir, 'running', 1, 2 * KiB, 45);
    const recent = await attempt(runtimeDir, 'recent', 1, 2 * KiB, 3);
    // `ygg run` folders are a place of their own: its only (and so newest) one stays, however old.
    const run = join(runtimeDir, 'runs', 'x', '2026-01-01T00-00-00');
    await file(join(run, 'output.txt'), KiB, 120);
    await age(run, 120);
    await file(join(runtimeDir, 'logs', 'loop-1.log'), KiB, 50);
    await file(join(runtimeDir, 'logs', 'loop-2.log'), KiB, 31);
    await file(join(runtimeDir, 'logs', 'loop-3.log'), KiB, 1);
    const report = await sweepRuntime({
      runtimeDir,
      settings: settings({
        artifacts: { maxBytes: 2 ** 30, maxAgeMs: 30 * day },
        logs: { maxBytes: 2 ** 30, maxAgeMs: 30 * day },
      }),
      now: () => now,
      inUse: () => ['running'],
    });
    expect(kind(report, 'artifacts').removed).toEqual([old]);
    expect([running, recent, run].every((p) => existsSync(p))).toBe(true);
    expect(kind(report, 'logs').removed.map((p) => p.split('/').at(-1))).toEqual([
      'loop-1.log',
      'loop-2.log',
    ]);
    expect(await readdir(join(runtimeDir, 'logs'))).toEqual(['loop-3.log']);
  });

  it('keeps the newest item even when it alone is past the limit', async () => {
    const runtimeDir = join(await testDir('retention-newest'), '.ygg');
    await file(join(runtimeDir, 'logs', 'a.log'), 8 * KiB, 2);
    await file(join(runtimeDir, 'logs', 'b.log'), 8 * KiB, 1);
    const report = await sweepRuntime({
      runtimeDir,
      settings: settings({ logs: { maxBytes: KiB, maxAgeMs: 0 } }),
      now: () => now,
    });
    expect(kind(report, 'logs')).toMatchObject({ items: 1, bytes: 8 * KiB });
    expect(await readdir(join(runtimeDir, 'logs'))).toEqual(['b.log']);
  });

  it('keeps the policy checkpoints rollouts may still run (max_staleness + 1) and removes older ones oldest first', async () => {
    const runtimeDir = join(await testDir('retention-policy'), '.ygg');
    const checkpoint = (v: number) => join(runtimeDir, 'policy', `v${v}.onnx`);
    for (let v = 0; v <= 5; v++) await file(checkpoint(v), 4 * KiB, 10 - v);
    // A copy being published: not a checkpoint yet, never touched.
    await file(join(runtimeDir, 'policy', 'v6.onnx.tmp-4242'), 4 * KiB, 0);
    const limits = settings({ artifacts: { maxBytes: 8 * KiB, maxAgeMs: 100 * day } });
    const wider = await sweepRuntime({ runtimeDir, settings: limits, now: () => now, policyVersionsKept: 3 });
    // Three kept whatever the limit (12 KiB of 8): v3, v4 and v5.
    expect(kind(wider, 'artifacts').removed).toEqual([0, 1, 2].map(checkpoint));
    const report = await sweepRuntime({
      runtimeDir,
      settings: limits,
      now: () => now,
      policyVersionsKept: 2,
    });
    expect(kind(report, 'artifacts').removed).toEqual([checkpoint(3)]);
    expect((await readdir(join(runtimeDir, 'policy'))).sort()).toEqual([
      'v4.onnx',
      'v5.onnx',
      'v6.onnx.tmp-4242',
    ]);
  });

  it('rotates the trajectory log whole, removes the oldest segments, and the log still reads consistently', async () => {
    const runtimeDir = join(await testDir('retention-trajectories'), '.ygg');
    const log = TrajectoryLog.inRuntimeDir(runtimeDir);
    const make = (id: string) =>
      new TrajectoryRecorder({ id, taskId: id, policyVersion: 0, now: () => now }).finish();
    const limits = settings({ trajectories: { maxBytes: 16 * KiB, maxAgeMs: 100 * day } });
    // Ten rounds of ten trajectories (about 3 KiB a round), a sweep after each, so the log is
    // rotated into segments and the oldest are removed as the kind passes 16 KiB.
    const sweeps: SweepReport[] = [];
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(make(`t${round}-${i}`))));
      // The reward of a trajectory logged one round earlier: it lands in a later segment.
      if (round > 0) await log.setReward(`t${round - 1}-0`, round, { tests_passed: round });
      sweeps.push(await sweepRuntime({ runtimeDir, settings: limits, now: () => now }));
    }
    const segments = await trajectorySegments(log.path);
    expect(sweeps.filter((s) => s.rotated).length).toBeGreaterThan(3);
    const removed = sweeps.flatMap((s) => kind(s, 'trajectories').removed);
    expect(removed.length).toBeGreaterThan(0);
    // Oldest first: every segment removed is older than every segment kept.
    const seqOf = (p: string) => Number(/\.(\d+)\.jsonl$/.exec(p)![1]);
    expect(Math.max(...removed.map(seqOf))).toBeLessThan(Math.min(...segments.map((s) => s.seq)));
    const last = sweeps.at(-1)!;
    // The limit holds to within one segment (an eighth of it) while the live file grows.
    expect(kind(last, 'trajectories').bytes).toBeLessThanOrEqual(16 * KiB + 2 * KiB);

    // What a reader sees: whole trajectories, the most recent ones, none torn, rewards merged.
    const all = await log.readAll();
    const ids = all.map((t) => t.id);
    expect(ids.at(-1)).toBe('t9-9');
    // Segments hold whole rounds (rotated between them): the rounds kept, each whole, in order.
    const firstRound = Number(/^t(\d+)-/.exec(ids[0]!)![1]);
    expect(firstRound).toBeGreaterThan(0);
    const rounds = Array.from({ length: 10 - firstRound }, (_, r) => firstRound + r);
    expect(ids).toEqual(rounds.flatMap((r) => Array.from({ length: 10 }, (_, i) => `t${r}-${i}`)));
    // A reward logged in a later segment than its trajectory is still merged into it.
    for (const r of rounds.filter((r) => r < 9))
      expect(all.find((t) => t.id === `t${r}-0`)?.reward).toBe(r + 1);
  });

  it('never tears or loses a line when the log is rotated while appends are in flight', async () => {
    const runtimeDir = join(await testDir('retention-rotate-live'), '.ygg');
    const log = TrajectoryLog.inRuntimeDir(runtimeDir);
    const make = (id: string) => new TrajectoryRecorder({ id, taskId: id, policyVersion: 0 }).finish();
    const appends: Promise<void>[] = [];
    const rotations: Array<string | undefined> = [];
    for (let i = 0; i < 200; i++) {
      appends.push(log.append(make(`t${i}`)));
      if (i % 20 === 19) rotations.push(await rotateTrajectoryLog(log.path, 1));
    }
    await Promise.all(appends);
    expect(rotations.filter(Boolean).length).toBeGreaterThan(0);
    const all = await log.readAll();
    expect(all.map((t) => t.id)).toEqual(Array.from({ length: 200 }, (_, i) => `t${i}`));
  });

  it('doctor shows the use per kind and warns only when a sweep would remove something; a dry run changes nothing', async () => {
    const runtimeDir = join(await testDir('retention-doctor'), '.ygg');
    // One old `ygg run` folder: past max_age, but the newest of its place, so it stays: no warning.
    const run = join(runtimeDir, 'runs', 'x', 'stamp');
    await file(join(run, 'output.txt'), 3 * KiB, 60);
    await age(run, 60);
    await file(join(runtimeDir, 'counters.json'), 100, 0);
    const limits = settings({ artifacts: { maxBytes: 4 * KiB, maxAgeMs: 30 * day } });
    const ok = await runtimeUseStep(runtimeDir, limits, now);
    expect(ok).toEqual({
      step: 'disk use',
      status: 'ok',
      detail: `${runtimeDir} uses 3.1 KiB; artifacts 3.0 KiB of 4.0 KiB (1 item, oldest 60d; max age 30d); trajectories 0 B of 1.0 GiB (0 items; max age 1000d); logs 0 B of 1.0 GiB (0 items; max age 1000d); other state 100 B (never removed)`,
    });
    // A second, newer run makes the old one due: a warning naming what the next sweep removes.
    await file(join(runtimeDir, 'runs', 'y', 'stamp', 'output.txt'), 2 * KiB, 1);
    const warn = await runtimeUseStep(runtimeDir, limits, now);
    expect(warn).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('artifacts 5.0 KiB of 4.0 KiB (2 items, oldest 60d; max age 30d)'),
      fix: 'Past the limits: artifacts (1 oldest, 3.0 KiB). `ygg loop` removes them at its next sweep (at start, then every retention.interval).',
    });
    expect(existsSync(run)).toBe(true);
  });
});
