import { describe, expect, it } from 'vitest';
import { type HostView, route } from '../../src/schedule/router.js';

function hosts(...views: Array<Partial<HostView> & { name: string }>): Map<string, HostView> {
  return new Map(
    views.map((v) => [
      v.name,
      { up: true, draining: false, free: 1, used: 0, effective: 1, ...v } as HostView,
    ]),
  );
}

describe('route', () => {
  it('sends a task to its first eligible host with a free slot', () => {
    const decision = route({
      type: 'code',
      preference: ['skadi', 'fenrir'],
      hosts: hosts({ name: 'skadi' }, { name: 'fenrir' }),
    });
    expect(decision).toEqual({ kind: 'assign', host: 'skadi' });
  });

  it('spills to the next eligible host when the first is full, never waiting behind it', () => {
    const decision = route({
      type: 'code',
      preference: ['skadi', 'fenrir'],
      hosts: hosts({ name: 'skadi', free: 0, used: 2, effective: 2 }, { name: 'fenrir' }),
    });
    expect(decision).toEqual({ kind: 'assign', host: 'fenrir' });
  });

  it('says busy when every eligible host is full', () => {
    const decision = route({ type: 'code', preference: ['skadi'], hosts: hosts({ name: 'skadi', free: 0 }) });
    expect(decision).toEqual({ kind: 'busy' });
  });

  it('takes the least loaded of equally preferred hosts, ties at random', () => {
    const view = hosts(
      { name: 'a', free: 1, used: 2, effective: 3 },
      { name: 'b', free: 2, used: 1, effective: 3 },
      { name: 'c', free: 2, used: 1, effective: 3 },
    );
    expect(route({ type: 't', preference: [['a', 'b', 'c']], hosts: view, random: () => 0 })).toEqual({
      kind: 'assign',
      host: 'b',
    });
    expect(route({ type: 't', preference: [['a', 'b', 'c']], hosts: view, random: () => 0.99 })).toEqual({
      kind: 'assign',
      host: 'c',
    });
  });

  it('prefers a host the task has not failed on, but uses it when nothing else is free', () => {
    const view = hosts({ name: 'skadi' }, { name: 'fenrir' });
    expect(
      route({ type: 't', preference: ['skadi', 'fenrir'], hosts: view, avoid: new Set(['skadi']) }),
    ).toEqual({ kind: 'assign', host: 'fenrir' });
    const onlySkadi = hosts({ name: 'skadi' }, { name: 'fenrir', free: 0 });
    expect(
      route({ type: 't', preference: ['skadi', 'fenrir'], hosts: onlySkadi, avoid: new Set(['skadi']) }),
    ).toEqual({ kind: 'assign', host: 'skadi' });
  });

  it('reports a type with no eligible host as unroutable, with the reason', () => {
    expect(route({ type: 'vision', preference: [], hosts: hosts({ name: 'a' }) })).toEqual({
      kind: 'unroutable',
      reason: 'no host is eligible for type "vision"',
    });
    expect(route({ type: 'vision', preference: ['ghost'], hosts: hosts({ name: 'a' }) }).kind).toBe(
      'unroutable',
    );
  });

  it('reports tasks whose hosts are all down or draining as waiting, naming each host', () => {
    const decision = route({
      type: 'code',
      preference: ['skadi', 'fenrir'],
      hosts: hosts({ name: 'skadi', up: false }, { name: 'fenrir', draining: true }),
    });
    expect(decision).toEqual({
      kind: 'waiting',
      reason: 'every eligible host is unavailable (skadi down, fenrir draining)',
    });
  });

  it('skips hosts that refuse the task (a model they do not serve)', () => {
    const decision = route({
      type: 'code',
      preference: ['skadi', 'fenrir'],
      hosts: hosts({ name: 'skadi' }, { name: 'fenrir' }),
      accepts: (h) => (h === 'skadi' ? 'skadi does not serve qwen' : undefined),
    });
    expect(decision).toEqual({ kind: 'assign', host: 'fenrir' });
    const none = route({
      type: 'code',
      preference: ['skadi'],
      hosts: hosts({ name: 'skadi' }),
      accepts: () => 'skadi does not serve qwen',
    });
    expect(none).toEqual({ kind: 'unroutable', reason: 'skadi does not serve qwen' });
  });
});
