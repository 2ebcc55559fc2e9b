import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { yggOf } from '../../src/store/task.js';
import { yggBin } from '../helpers/cli.js';
import { startLoop, workspace } from '../helpers/running-loop.js';
import { waitForTasks } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasTmux)('ygg monitor in a terminal (tmux)', () => {
  it('shows hosts and running tasks from a live loop; c cancels the selected task after y; q exits', async () => {
    const ws = await workspace('monitor-tmux');
    await ws.add('bd-long', 'a long simulated job', { handler: 'simulate', simulate_ms: 120_000 });
    const loop = await startLoop(ws.dir);
    await waitForTasks(ws.store, (tasks) =>
      tasks.some((t) => t.id === 'bd-long' && t.status === 'in_progress'),
    );

    // A private tmux server, so nothing else on the machine is touched.
    const socket = `ygg-test-${process.pid}-${Date.now()}`;
    const sockDir = await testDir('tmux-sock');
    const tmux = (...args: string[]) =>
      execFileSync('tmux', ['-S', `${sockDir}/${socket}`, ...args], { encoding: 'utf8' });
    const command = `env -u NO_COLOR TERM=xterm-256color ${process.execPath} ${yggBin} monitor; echo "monitor exited $?"; sleep 60`;
    tmux('new-session', '-d', '-s', 'm', '-x', '80', '-y', '24', '-c', ws.dir, command);
    try {
      const screen = () => tmux('capture-pane', '-p', '-t', 'm');
      const frame = await waitUntil(() => (/bd-long/.test(screen()) ? screen() : false), {
        what: 'the monitor to show bd-long',
        intervalMs: 100,
      });
      expect(frame).toMatch(/surtr\s+up\s+1\/2/);
      expect(frame).toMatch(/fenrir\s+up\s+0\/1/);
      expect(frame).toMatch(/▶ bd-long .*a long simulated job.*surtr/);
      expect(frame).toMatch(/loop running/);
      expect(frame.split('\n').every((l) => [...l].length <= 80)).toBe(true);

      tmux('send-keys', '-t', 'm', 'c');
      await waitUntil(() => /cancel bd-long\? \(y\/n\)/.test(screen()), {
        what: 'the confirmation',
        intervalMs: 50,
      });
      tmux('send-keys', '-t', 'm', 'y');
      const tasks = await waitForTasks(ws.store, (all) =>
        all.some((t) => t.id === 'bd-long' && t.status === 'closed'),
      );
      expect(tasks.find((t) => t.id === 'bd-long')?.close_reason).toBe('cancelled');
      // Recorded as the person at the monitor asked, not as "status server".
      expect(yggOf(tasks.find((t) => t.id === 'bd-long')!).cancelled?.by).toBe(
        `${userInfo().username} (monitor)`,
      );
      await waitUntil(() => /bd-long\s+cancelled/.test(screen()), {
        what: 'the outcome on screen',
        intervalMs: 100,
      });

      tmux('send-keys', '-t', 'm', 'q');
      await waitUntil(() => /monitor exited 0/.test(screen()), {
        what: 'the monitor to exit',
        intervalMs: 50,
      });
    } finally {
      tmux('kill-server');
      await loop.stop();
    }
  });
});
