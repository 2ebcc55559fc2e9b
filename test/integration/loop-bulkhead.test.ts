import { describe, expect, it } from 'vitest';
import type { Plugin } from '../../src/plugins/api.js';
import { loopHarness, pluginSet } from '../helpers/loop-harness.js';
import { waitUntil } from '../helpers/wait.js';

const yaml = `
hosts:
  surtr: { transport: local, slots: 2 }
defaults:
  attempts: 1
`;

const quick: Plugin = {
  name: 'quick',
  types: ['general'],
  async run() {
    return 'done';
  },
};

describe('bulkheads in the loop', () => {
  it('an exception while deciding one task holds that task with the reason; the others run', async () => {
    const h = await loopHarness('bulkhead-throw', yaml, pluginSet(quick), {
      start: false,
      admit: (task) => {
        if (task.title === 'cursed') throw new TypeError('label.startsWith is not a function');
        return undefined;
      },
    });
    const cursed = await h.store.add({ title: 'cursed' });
    const fine = await Promise.all([h.store.add({ title: 'one' }), h.store.add({ title: 'two' })]);
    await h.loop.start();
    for (const task of fine) await h.waitFor('task:succeeded', (e) => e.taskId === task.id);
    const holdup = await waitUntil(() => h.loop.holdups.get(cursed.id));
    expect(holdup.kind).toBe('bad-task');
    expect(holdup.reason).toMatch(/ygg cannot read this task: label\.startsWith is not a function/);
    expect(h.loop.state).toBe('running');
    expect(h.store.get(cursed.id)?.status).toBe('open');
  });
});
