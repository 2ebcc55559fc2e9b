import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/observe/events.js';

describe('EventBus', () => {
  it('keeps delivering when a listener throws, and reports the throw', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    const errors: string[] = [];
    bus.on('host:up', () => {
      throw new Error('listener broke');
    });
    bus.on('host:up', ({ host }) => seen.push(host));
    bus.on('listener:error', ({ error }) => errors.push(error));
    bus.emit('host:up', { host: 'surtr' });
    bus.emit('host:up', { host: 'fenrir' });
    expect(seen).toEqual(['surtr', 'fenrir']);
    expect(errors).toEqual(['listener broke', 'listener broke']);
  });

  it('reports a rejected promise from an async listener', async () => {
    const bus = new EventBus();
    const errors = new Promise<string>((resolve) => bus.on('listener:error', ({ error }) => resolve(error)));
    bus.on('host:down', async () => {
      throw new Error('async listener broke');
    });
    bus.emit('host:down', { host: 'skadi', error: 'probe failed' });
    expect(await errors).toBe('async listener broke');
  });

  it('delivers every event to onAny listeners', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.onAny((event) => seen.push(event));
    bus.emit('queue:paused', { paused: true });
    bus.emit('host:up', { host: 'surtr' });
    expect(seen).toEqual(['queue:paused', 'host:up']);
  });
});
