import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the shipped hosts.yaml', () => {
  it('is the Python homelab with the roles the RL pipeline needs, the same hosts the RL example runs on', async () => {
    const shipped = (await loadConfig(`${root}hosts.yaml`)).config!;
    const rl = (await loadConfig(`${root}examples/rl/hosts.yaml`)).config!;
    const roles = Object.fromEntries(shipped.hosts.map((h) => [h.name, [h.transport, h.slots, h.roles]]));
    expect(roles).toEqual({
      'surtr-reasoning': ['local', 2, ['inference', 'learner']],
      'fenrir-chat': ['local', 3, ['inference', 'tools']],
      'skadi-code': ['local', 2, ['inference', 'tools']],
    });
    expect(rl.hosts).toEqual(shipped.hosts);
    expect(rl.learner?.host).toBe('surtr-reasoning');
  });
});
