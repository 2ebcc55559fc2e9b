import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plugin } from '../../src/plugins/api.js';
import { loopHarness, pluginSet } from '../helpers/loop-harness.js';

const host = `
hosts:
  surtr:
    transport: local
    slots: 2
`;

describe("an attempt's artifacts folder", () => {
  it('exists once a handler reads its path, and is not made for an attempt that never asks', async () => {
    const seen = new Map<string, boolean>();
    const plugin: Plugin = {
      name: 'files',
      types: ['general'],
      async run(task, ctx) {
        if (task.title === 'writes') seen.set(task.id, statSync(ctx.artifactsDir).isDirectory());
        return 'ok';
      },
    };
    const h = await loopHarness('artifacts-lazy', host, pluginSet(plugin));
    const writes = await h.store.add({ title: 'writes' });
    const quiet = await h.store.add({ title: 'quiet' });
    await h.loop.untilIdle();
    expect(h.store.get(writes.id)?.status).toBe('closed');
    expect(h.store.get(quiet.id)?.status).toBe('closed');
    expect(seen.get(writes.id)).toBe(true);
    const artifacts = join(h.store.runtimeDir, 'artifacts');
    expect(existsSync(join(artifacts, writes.id, '1'))).toBe(true);
    expect(existsSync(artifacts) ? readdirSync(artifacts) : []).not.toContain(quiet.id);
  });
});
