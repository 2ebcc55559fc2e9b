import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../src/hosts/ssh/transport.js';
import { type SshdInstance, startSuiteSshd } from '../helpers/sshd.js';

describe('pooled connections and sshd MaxSessions', () => {
  let sshd: SshdInstance;

  beforeAll(async () => {
    sshd = await startSuiteSshd('ssh-pool', { maxSessions: 4 });
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('runs many concurrent commands past MaxSessions: all succeed, over a few connections', async () => {
    // A channel limit equal to MaxSessions: sshd frees sessions late, so it refuses some opens,
    // which must be queued and retried, never surfaced.
    await using transport = new SshTransport('alpha', sshd.sshSettings({ maxChannelsPerConnection: 4 }), {
      maxConnections: 3,
    });
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 120 }, async (_, i) => {
        const r = await transport.exec(['sh', '-c', `echo ${i}`]);
        peak = Math.max(peak, transport.pool.activeChannels);
        return r;
      }),
    );
    expect(results.map((r) => r.stdout)).toEqual(results.map((_, i) => `${i}\n`));
    expect(results.every((r) => r.code === 0)).toBe(true);
    expect(transport.pool.opened).toBeGreaterThan(1);
    expect(transport.pool.opened).toBeLessThanOrEqual(3);
    expect(peak).toBeLessThanOrEqual(12);
  });

  it('queues on one connection when it may not open more', async () => {
    await using transport = new SshTransport('beta', sshd.sshSettings({ maxChannelsPerConnection: 2 }), {
      maxConnections: 1,
    });
    let most = 0;
    const results = await Promise.all(
      Array.from({ length: 30 }, () =>
        transport.exec(['sh', '-c', 'echo x'], {
          onOutput: () => {
            most = Math.max(most, transport.pool.activeChannels);
          },
        }),
      ),
    );
    expect(results.every((r) => r.code === 0 && r.stdout === 'x\n')).toBe(true);
    expect(transport.pool.opened).toBe(1);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    expect(transport.pool.activeChannels).toBe(0);
  });

  it('reconnects after the connection drops', async () => {
    await using transport = new SshTransport('gamma', sshd.sshSettings());
    expect((await transport.exec(['true'])).code).toBe(0);
    await sshd.restart();
    // The first command may be the one that learns of the drop; a later one reconnects.
    const { waitUntil } = await import('../helpers/wait.js');
    await waitUntil(async () => (await transport.exec(['true']).catch(() => undefined))?.code === 0, {
      what: 'a command to succeed after the restart',
    });
    expect(transport.pool.opened).toBe(2);
  });
});
