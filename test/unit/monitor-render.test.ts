import { describe, expect, it } from 'vitest';
import { renderFrame } from '../../src/observe/monitor/render.js';
import { emptySnapshot, type StatusSnapshot } from '../../src/observe/snapshot.js';

const at = '2026-01-01T00:00:00.000Z';

function busySnapshot(running = 3, dead = 2): StatusSnapshot {
  const s = emptySnapshot({ running: true, pid: 4242, version: '0.1.0', state: 'running' }, new Date(at));
  s.hosts = [
    {
      name: 'surtr',
      state: 'up',
      slots: { used: 2, total: 4, effective: 4 },
      draining: false,
      protections: [],
      gpus: [{ index: 0, utilization: 0.54, memoryUsedBytes: 3.1 * 2 ** 30, memoryTotalBytes: 8 * 2 ** 30 }],
    },
    {
      name: 'fenrir',
      state: 'down',
      error: 'probe failed: timeout',
      slots: { used: 0, total: 2, effective: 2 },
      draining: false,
      gpus: [],
      protections: [],
    },
  ];
  s.queue = {
    total: 5,
    retrying: 1,
    depth: [
      { type: 'code-generation', priority: 1, count: 4 },
      { type: 'general', priority: 2, count: 1 },
    ],
  };
  s.running = Array.from({ length: running }, (_, i) => ({
    id: `bd-r${i}`,
    title: `running task number ${i} with a rather long title that will not fit`,
    type: 'general',
    host: 'surtr',
    attempt: 1,
    startedAt: at,
    elapsedMs: 61_000 + i,
    progress: i === 0 ? 'step 2/5' : undefined,
  }));
  s.recent = [
    {
      id: 'bd-ok',
      title: 'done fine',
      type: 'general',
      host: 'surtr',
      attempt: 1,
      outcome: 'succeeded',
      at,
      runMs: 4200,
    },
    {
      id: 'bd-x',
      title: 'went bad',
      type: 'general',
      host: 'surtr',
      attempt: 3,
      outcome: 'dead',
      at,
      runMs: 800,
      error: 'Error: exit code 2',
    },
  ];
  s.deadLetters = {
    count: dead,
    tasks: Array.from({ length: dead }, (_, i) => ({
      id: `bd-d${i}`,
      title: 'dead',
      type: 'general',
      attempts: 3,
      error: `boom ${i}`,
      at,
    })),
  };
  s.throughput = { perMinute: 3.25, meanWaitMs: 1500, done: 12, succeeded: 10, failed: 2 };
  return s;
}

describe('monitor frame', () => {
  it('fits 80x24 exactly and shows hosts, queue, running, outcomes, dead letters and keys', () => {
    const lines = renderFrame(busySnapshot(), { selected: 0 }, { columns: 80, rows: 24 });
    expect(lines).toHaveLength(24);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80);
    const text = lines.join('\n');
    expect(text).toContain('loop running pid 4242');
    expect(text).toContain('3.3/min');
    expect(text).toContain('wait 1.5s');
    expect(text).toMatch(/surtr\s+up\s+2\/4\s+█████░░░░░ G0 54% 3\.1\/8\.0G/);
    expect(text).toMatch(/fenrir\s+down.*probe failed/);
    expect(text).toContain('code-generation P1:4');
    expect(text).toContain('1 backoff');
    expect(text).toMatch(/▶ bd-r0 .*running task number 0.*surtr\s+1m01s/);
    expect(text).toMatch(/✗ bd-x .*dead.*Error: exit code 2/);
    expect(text).toMatch(/bd-d0 .*boom 0/);
    expect(lines.at(-1)).toContain('q quit');
    expect(text).not.toContain('\x1b');
  });

  it('moves the marker with the selection, across running and dead tasks', () => {
    const frame = renderFrame(busySnapshot(), { selected: 4 }, { columns: 80, rows: 24 }).join('\n');
    expect(frame).toMatch(/▶ bd-d1/);
    expect(frame).not.toMatch(/▶ bd-r0/);
    // Past the end it stays on the last one.
    expect(renderFrame(busySnapshot(), { selected: 99 }, { columns: 80, rows: 24 }).join('\n')).toMatch(
      /▶ bd-d1/,
    );
  });

  it('shrinks long lists to fit and says how many are shown', () => {
    const lines = renderFrame(busySnapshot(30, 40), { selected: 0 }, { columns: 80, rows: 24 });
    expect(lines).toHaveLength(24);
    const text = lines.join('\n');
    expect(text).toMatch(/Running \(\d+ of 30\)/);
    expect(text).toMatch(/Dead letters \(\d+ of 40\)/);
    expect(lines.at(-1)).toContain('q quit');
  });

  it('says when the loop is not running, and shows a pending question in place of the keys', () => {
    const s = busySnapshot();
    s.loop = { running: false, version: '0.1.0' };
    const lines = renderFrame(s, { selected: 0, prompt: 'cancel bd-r0? (y/n)' }, { columns: 80, rows: 24 });
    expect(lines[0]).toContain('loop not running');
    expect(lines.at(-1)).toBe('cancel bd-r0? (y/n)');
  });

  it('colours only when asked, and colour does not change the visible text', () => {
    const plain = renderFrame(busySnapshot(), { selected: 0 }, { columns: 80, rows: 24 }, false);
    const coloured = renderFrame(busySnapshot(), { selected: 0 }, { columns: 80, rows: 24 }, true);
    expect(coloured.join('')).toContain('\x1b[');
    expect(coloured.map((l) => l.replace(/\x1b\[\d+m/g, ''))).toEqual(plain);
  });

  it('fits a narrow phone-sized terminal too', () => {
    const lines = renderFrame(busySnapshot(), { selected: 0 }, { columns: 40, rows: 15 });
    expect(lines).toHaveLength(15);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(40);
  });
});
