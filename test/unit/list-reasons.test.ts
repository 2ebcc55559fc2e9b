import { describe, expect, it } from 'vitest';
import { staticReason } from '../../src/cli/list-reasons.js';
import { configOrThrow, parseConfig } from '../../src/config/load.js';

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
const open = { paused: false, drained: [] };

describe('why a ready task waits, from hosts.yaml', () => {
  it('names a task left to someone else', () => {
    expect(staticReason({ id: 'a', title: 't', assignee: 'ann' }, config, open)).toBe(
      'assigned to ann; ygg leaves it to them',
    );
  });

  it('calls a type without eligible hosts unroutable', () => {
    expect(staticReason({ id: 'a', title: 't', labels: ['orphan'] }, config, open)).toMatch(
      /^unroutable: no host is eligible for type "orphan"/,
    );
  });

  it('says waiting only when every eligible host is drained', () => {
    const task = { id: 'a', title: 't' };
    expect(staticReason(task, config, { paused: false, drained: ['skadi'] })).toBeUndefined();
    expect(staticReason(task, config, { paused: false, drained: ['skadi', 'surtr'] })).toMatch(
      /^waiting: every eligible host is unavailable \(skadi draining, surtr draining\)/,
    );
    expect(staticReason(task, config, { paused: true, drained: [] })).toMatch(/paused/);
  });
  it('holds a task whose blocker ended cancelled, as the loop would', () => {
    const blocker = { id: 'b', title: 'b', status: 'closed' as const, close_reason: 'cancelled' };
    const store = { get: (id: string) => (id === 'b' ? blocker : undefined) };
    const task = {
      id: 'a',
      title: 't',
      dependencies: [{ issue_id: 'a', depends_on_id: 'b', type: 'blocks' }],
    };
    expect(staticReason(task, config, open, store)).toBe('held by b, which was cancelled');
    expect(staticReason(task, config, open)).toBeUndefined();
  });
});
