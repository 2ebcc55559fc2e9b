import { dirname } from 'node:path';
import type { Command } from 'commander';
import { openConfig } from '../app/config.js';
import { withStoreSlots } from '../app/database-hosts.js';
import { classifyType } from '../config/type-rules.js';
import { noSuchTask } from '../errors.js';
import { describePlace, type QueuePlace, queuePlace } from '../schedule/position.js';
import { outOfLine, waitReasons } from './list-reasons.js';
import { type CommonOptions, withCommonOptions } from './runtime.js';
import { usingStore } from './store-options.js';

export interface PositionOptions extends CommonOptions {
  id: string;
}

/** A task's place in the queue, as the loop would order the ready tasks now. */
export async function positionCommand(options: PositionOptions): Promise<QueuePlace> {
  return usingStore(options, async (store) => {
    if (!store.get(options.id)) throw noSuchTask(options.id, store.path);
    const opened = await openConfig({
      ...(options.config ? { config: options.config } : {}),
      cwd: options.config ? (options.cwd ?? process.cwd()) : dirname(store.path),
    });
    const config = await withStoreSlots(opened.config, store);
    // Why each ready task waits, from the loops' decisions (or admission over hosts.yaml): one
    // that no host or handler can take, or held for good, has no place in line.
    const task = store.get(options.id)!;
    const ready = store.ready();
    const reasons = await waitReasons([...ready, task], store.runtimeDir, config, store);
    const inLine = ready.filter((t) => !outOfLine.has(reasons.get(t.id)?.kind ?? ''));
    const view = { get: (id: string) => store.get(id), list: store.list.bind(store), ready: () => inLine };
    const place = queuePlace(options.id, view, config.queue, config.types, (t) => classifyType(t, config));
    const waiting = reasons.get(task.id);
    if (!waiting || (place.state !== 'queued' && place.state !== 'not-ready')) return place;
    if (outOfLine.has(waiting.kind)) {
      const { position: _, ...rest } = place;
      return { ...rest, state: 'held', reason: waiting.reason };
    }
    return { ...place, reason: waiting.reason };
  });
}

export function register(program: Command): void {
  withCommonOptions(
    program
      .command('position')
      .description('tell a task’s place in the queue: position N of M')
      .argument('<id>', 'the task id')
      .option('--json', 'print {id, state, position, of, reason} as one JSON object'),
  ).action(async (id: string, flags: CommonOptions & { json?: boolean }) => {
    const place = await positionCommand({
      id,
      ...(flags.store ? { store: flags.store } : {}),
      ...(flags.config ? { config: flags.config } : {}),
    });
    process.stdout.write(
      flags.json
        ? `${JSON.stringify({ id: place.id, state: place.state, position: place.position ?? null, of: place.of, ...(place.reason ? { reason: place.reason } : {}), ...(place.overLimit ? { over_limit: place.overLimit } : {}) })}\n`
        : `${place.id}: ${describePlace(place)}\n`,
    );
  });
}
