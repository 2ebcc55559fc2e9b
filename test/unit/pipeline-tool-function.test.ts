import { Sema } from 'async-sema';
import { describe, expect, it } from 'vitest';
import { createToolFunction } from '../../src/pipeline/tool-function.js';
import type { ToolQueue, ToolResult } from '../../src/pipeline/tool-queue.js';

/** A host's one GPU slot, as the scheduler holds it: the handler starts with it taken. */
function gpuSlot() {
  const sema = new Sema(1);
  let held = 0;
  return {
    sema,
    async take() {
      await sema.acquire();
      held += 1;
    },
    give() {
      held -= 1;
      sema.release();
    },
    get held() {
      return held;
    },
  };
}

/** A tool queue whose calls end when the test says so. */
function controlledQueue() {
  const pending: Array<{ name: string; finish: () => void }> = [];
  const waiters: Array<() => void> = [];
  const queue: Pick<ToolQueue, 'call'> = {
    call: (name) =>
      new Promise<ToolResult>((resolve) => {
        pending.push({
          name,
          finish: () =>
            resolve({
              ok: false,
              tool: name,
              key: 'k',
              error: 'test',
              attempts: 1,
              hostsTried: [],
              cached: false,
            }),
        });
        for (const w of waiters.splice(0)) w();
      }),
  };
  const started = async (n: number) => {
    while (pending.length < n) await new Promise<void>((r) => waiters.push(r));
  };
  return { queue, pending, started };
}

describe('ctx.tool and the GPU slot', () => {
  it('releases the slot while the tool runs (another task can take it) and takes it back before returning', async () => {
    const slot = gpuSlot();
    await slot.take(); // the handler's slot
    const { queue, pending, started } = controlledQueue();
    const tool = createToolFunction({
      queue,
      releaseSlot: () => slot.give(),
      reacquireSlot: () => slot.take(),
    });

    const call = tool('run_tests', { a: '1' });
    await started(1);
    expect(slot.held).toBe(0);
    // Another task takes the freed slot while the tool runs...
    await slot.take();
    expect(slot.held).toBe(1);
    let returned = false;
    void call.then(() => {
      returned = true;
    });
    pending[0]!.finish();
    // ...so the handler cannot resume until that task gives the slot back.
    await new Promise<void>((r) => setImmediate(r));
    expect(returned).toBe(false);
    slot.give();
    await call;
    expect(returned).toBe(true);
    expect(slot.held).toBe(1); // the handler holds its slot again
  });

  it('keeps the slot when release_slot_on_tool is off', async () => {
    const slot = gpuSlot();
    await slot.take();
    const { queue, pending, started } = controlledQueue();
    const tool = createToolFunction({
      queue,
      releaseSlot: () => slot.give(),
      reacquireSlot: () => slot.take(),
      releaseOnTool: false,
    });
    const call = tool('lint');
    await started(1);
    expect(slot.held).toBe(1);
    expect(slot.sema.nrWaiting()).toBe(0);
    pending[0]!.finish();
    await call;
    expect(slot.held).toBe(1);
  });

  it('releases once for overlapping calls and returns from each only with the slot held', async () => {
    const slot = gpuSlot();
    await slot.take();
    let releases = 0;
    const { queue, pending, started } = controlledQueue();
    const tool = createToolFunction({
      queue,
      releaseSlot: () => {
        releases += 1;
        slot.give();
      },
      reacquireSlot: () => slot.take(),
    });
    const a = tool('compile');
    const b = tool('run_tests');
    await started(2);
    expect(releases).toBe(1);
    expect(slot.held).toBe(0);
    pending[0]!.finish();
    await a;
    expect(slot.held).toBe(1); // the handler resumed after `a` with its slot
    pending[1]!.finish();
    await b;
    expect(slot.held).toBe(1); // not taken twice
    expect(releases).toBe(1);
  });
});
