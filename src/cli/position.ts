import { dirname } from 'node:path';
import type { Command } from 'commander';
import { openConfig } from '../app/config.js';
import { classifyType } from '../config/type-rules.js';
import { noSuchTask } from '../errors.js';
import { describePlace, type QueuePlace, queuePlace } from '../schedule/position.js';
import { type CommonOptions, withCommonOptions } from './runtime.js';
import { usingStore } from './store-options.js';

export interface PositionOptions extends CommonOptions {
  id: string;
}

/** A task's place in the queue, as the loop would order the ready tasks now. */
export async function positionCommand(options: PositionOptions): Promise<QueuePlace> {
  return usingStore(options, async (store) => {
    if (!store.get(options.id)) throw noSuchTask(options.id, store.path);
    const { config } = await openConfig({
      ...(options.config ? { config: options.config } : {}),
      cwd: options.config ? (options.cwd ?? process.cwd()) : dirname(store.path),
    });
    return queuePlace(options.id, store, config.queue, config.types, (t) => classifyType(t, config));
  });
}

export function register(program: Command): void {
  withCommonOptions(
    program
      .command('position')
      .description('tell a task’s place in the queue: position N of M')
      .argument('<id>', 'the task id')
      .option('--json', 'print {id, state, position, of} as one JSON object'),
  ).action(async (id: string, flags: CommonOptions & { json?: boolean }) => {
    const place = await positionCommand({
      id,
      ...(flags.store ? { store: flags.store } : {}),
      ...(flags.config ? { config: flags.config } : {}),
    });
    process.stdout.write(
      flags.json
        ? `${JSON.stringify({ id: place.id, state: place.state, position: place.position ?? null, of: place.of, ...(place.overLimit ? { over_limit: place.overLimit } : {}) })}\n`
        : `${place.id}: ${describePlace(place)}\n`,
    );
  });
}
