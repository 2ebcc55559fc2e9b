import { describe, expect, it } from 'vitest';
import { HostPool } from '../../src/hosts/pool.js';
import { EventBus, type YggEventName, type YggEvents } from '../../src/observe/events.js';
import { startSshd } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';

function nextEvent<E extends YggEventName>(bus: EventBus, event: E, host: string): Promise<YggEvents[E]> {
  return new Promise((resolve) => {
    const off = bus.on(event, (payload) => {
      if ((payload as { host?: string }).host !== host) return;
      off();
      resolve(payload);
    });
  });
}

describe('health of an SSH host', () => {
  it('marks a host down when its sshd is killed, and up again after a restart', async () => {
    const sshd = await startSshd(await testDir('health'));
    try {
      const bus = new EventBus();
      const host = sshd.hostConfig('surtr', { probeIntervalMs: 200, probeFailures: 2 });
      await using pool = new HostPool([host], { bus, gpuIntervalMs: 0, probeTimeoutMs: 2000 });
      const up = nextEvent(bus, 'host:up', 'surtr');
      pool.start();
      await up;
      expect(pool.hostHealth('surtr')?.state).toBe('up');
      expect(pool.hostHealth('surtr')?.latencyMs).toBeGreaterThan(0);

      const down = nextEvent(bus, 'host:down', 'surtr');
      await sshd.kill();
      const { error } = await down;
      expect(error).toMatch(/refused|dropped|closed/);
      expect(pool.hostHealth('surtr')).toMatchObject({ state: 'down' });
      expect(pool.hostHealth('surtr')!.consecutiveFailures).toBeGreaterThanOrEqual(2);

      const back = nextEvent(bus, 'host:up', 'surtr');
      await sshd.start();
      await back;
      expect(pool.hostHealth('surtr')?.state).toBe('up');
      expect((await pool.transport('surtr').exec(['echo', 'back'])).stdout).toBe('back\n');
    } finally {
      await sshd.stop();
    }
  });

  it('a host without nvidia-smi simply has no GPU data', async () => {
    const sshd = await startSshd(await testDir('no-gpu'));
    try {
      const bus = new EventBus();
      const samples: unknown[] = [];
      bus.on('gpu:sample', (s) => samples.push(s));
      await using pool = new HostPool([sshd.hostConfig('cpu-only')], { bus, gpuIntervalMs: 0 });
      expect(await pool.gpus.sample('cpu-only')).toBeUndefined();
      expect(pool.gpus.hasNoGpu('cpu-only')).toBe(true);
      expect(pool.gpuSample('cpu-only')).toBeUndefined();
      expect(pool.effectiveSlots('cpu-only', 8)).toBe(2);
      expect(samples).toEqual([]);
    } finally {
      await sshd.stop();
    }
  });
});
