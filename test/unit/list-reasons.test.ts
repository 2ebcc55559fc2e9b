import { beforeAll, describe, expect, it } from 'vitest';
import { configOrThrow, parseConfig } from '../../src/config/load.js';
import { configHoldup } from '../../src/dispatch/config-admission.js';
import type { ControlState } from '../../src/dispatch/control.js';
import { builtinPluginDir, loadPlugins, type PluginSet } from '../../src/plugins/loader.js';
import type { Task } from '../../src/store/task.js';

const yaml = `
hosts:
  surtr: { transport: local, slots: 1 }
  skadi: { transport: local, slots: 1 }
type_rules:
  - { type: orphan, labels: [orphan] }
types:
  general: { hosts: [skadi, surtr] }
  orphan: { hosts: [] }
`;
const { config } = configOrThrow(parseConfig(yaml, 'hosts.yaml'), 'hosts.yaml');
const open: ControlState = { paused: false, drained: [] };
const noStore = { get: () => undefined };
let plugins: PluginSet;
beforeAll(async () => {
  plugins = await loadPlugins([builtinPluginDir()]);
});

const why = (task: Task, control = open, store: { get(id: string): Task | undefined } = noStore) =>
  configHoldup(task, { config, control, plugins, store, now: Date.now() });

describe('why a ready task waits without a loop: admission over hosts.yaml', () => {
  it('names a task left to someone else', () => {
    expect(why({ id: 'a', title: 't', assignee: 'ann', metadata: { ygg: { handler: 'simulate' } } })).toEqual(
      {
        kind: 'assigned',
        type: 'general',
        reason: 'assigned to ann; ygg leaves it to them',
      },
    );
  });

  it('calls a type without eligible hosts unroutable, in the loop’s words', () => {
    const holdup = why({
      id: 'a',
      title: 't',
      labels: ['orphan'],
      metadata: { ygg: { handler: 'simulate' } },
    });
    expect(holdup?.kind).toBe('unroutable');
    expect(holdup?.reason).toMatch(/^no host is eligible for type "orphan"/);
  });

  it('names a handler no plugin provides', () => {
    expect(why({ id: 'a', title: 't', metadata: { ygg: { handler: 'nope' } } })).toMatchObject({
      kind: 'no-handler',
      reason: 'no handler plugin named "nope" is loaded',
    });
  });

  it('says waiting only when every eligible host is drained, and when the queue is paused', () => {
    const task = { id: 'a', title: 't', metadata: { ygg: { handler: 'simulate' } } };
    expect(why(task, { paused: false, drained: ['skadi'] })).toBeUndefined();
    expect(why(task, { paused: false, drained: ['skadi', 'surtr'] })?.reason).toMatch(
      /every eligible host is unavailable \(skadi draining, surtr draining\)/,
    );
    expect(why(task, { paused: true, drained: [] })?.reason).toMatch(/paused/);
  });

  it('holds a task whose blocker ended cancelled, as the loop would', () => {
    const blocker: Task = { id: 'b', title: 'b', status: 'closed', close_reason: 'cancelled' };
    const store = { get: (id: string) => (id === 'b' ? blocker : undefined) };
    const task: Task = {
      id: 'a',
      title: 't',
      dependencies: [{ issue_id: 'a', depends_on_id: 'b', type: 'blocks' }],
      metadata: { ygg: { handler: 'simulate' } },
    };
    expect(why(task, open, store)).toMatchObject({ kind: 'held', reason: 'held by b, which was cancelled' });
    expect(why(task)).toBeUndefined();
  });
});
