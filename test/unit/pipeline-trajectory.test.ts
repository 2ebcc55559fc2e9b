import { appendFile, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { summarizeTrajectory, TrajectoryRecorder } from '../../src/pipeline/trajectory.js';
import { TrajectoryLog } from '../../src/pipeline/trajectory-log.js';
import { testDir } from '../helpers/tmp.js';

describe('trajectories', () => {
  it('records steps with timings from the injected clock and the admission time', () => {
    let now = Date.parse('2026-03-01T10:00:05.000Z');
    const recorder = new TrajectoryRecorder({
      id: 'bd-1.1.x',
      taskId: 'bd-1',
      policyVersion: 3,
      host: 'surtr',
      admittedAt: new Date('2026-03-01T10:00:00.000Z'),
      now: () => now,
    });
    now += 40;
    recorder.step({ prompt: 'p' }, { choice: 1 });
    now += 60;
    recorder.step(
      { prompt: 'q' },
      { choice: 0 },
      {
        tool: 'run_tests',
        ok: true,
        code: 1,
        stdoutTail: 'passed 1 failed 1',
        stderrTail: '',
        durationMs: 55,
        cached: false,
        host: 'tools-a',
      },
    );
    const t = recorder.finish();
    expect(t).toMatchObject({
      id: 'bd-1.1.x',
      group: 'bd-1',
      policyVersion: 3,
      status: 'ok',
      admittedAt: '2026-03-01T10:00:00.000Z',
      startedAt: '2026-03-01T10:00:05.000Z',
      endedAt: '2026-03-01T10:00:05.100Z',
    });
    expect(t.steps.map((s) => s.atMs)).toEqual([40, 100]);
    expect(summarizeTrajectory({ ...t, reward: 0.5 })).toBe(
      'trajectory bd-1.1.x: ok, policy v3, 2 steps, reward 0.500, 100 ms\ntools: run_tests=1',
    );
    recorder.fail('no tools host is up for run_tests');
    expect(recorder.finish()).toMatchObject({ status: 'failed', error: 'no tools host is up for run_tests' });
  });

  it('appends to the JSONL log, writes rewards back as lines of their own, and reads it all back', async () => {
    const dir = await testDir('trajectory-log');
    const log = TrajectoryLog.inRuntimeDir(dir);
    const make = (id: string) => new TrajectoryRecorder({ id, taskId: id, policyVersion: 0 }).finish();
    // Many appends at once share writes; every promise resolves once its line is on disk.
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(make(`t${i}`))));
    await log.setReward('t7', 0.75, { tests_passed: 0.75 });
    const lines = (await readFile(log.path, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(51);
    expect(JSON.parse(lines[50]!)).toEqual({
      kind: 'reward',
      id: 't7',
      reward: 0.75,
      rewards: { tests_passed: 0.75 },
    });

    // A crash mid-write leaves a torn last line: reading skips it.
    await appendFile(log.path, '{"kind":"trajectory","traj');
    const fresh = new TrajectoryLog(log.path);
    const all = await fresh.readAll();
    expect(all).toHaveLength(50);
    expect(all.map((t) => t.id).slice(0, 3)).toEqual(['t0', 't1', 't2']);
    expect(all.find((t) => t.id === 't7')).toMatchObject({ reward: 0.75, rewards: { tests_passed: 0.75 } });
    expect(await new TrajectoryLog(`${dir}/none.jsonl`).readAll()).toEqual([]);
  });
});
