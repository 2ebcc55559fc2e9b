/**
 * The loop's side of the add intake (see protocol.ts): a unix socket, owner-only, in the store's
 * runtime folder. Each request's tasks are added by the loop's own store in one commit, with the
 * queue limits the command found checked under the lock as `ygg add` checks them, and the reply
 * is sent once that commit is durable.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import { guardAdds } from '../../schedule/batch-backpressure.js';
import type { NewTask, TaskStore } from '../../store/store.js';
import type { Task } from '../../store/task.js';
import {
  type IntakeReply,
  type IntakeRequest,
  intakeDir,
  maxSocketPathBytes,
  newIntakeSocketPath,
  toWire,
} from './protocol.js';

/** A request larger than this is refused (a bulk add of 10,000 tasks is a few MB). */
const maxRequestBytes = 64 * 1024 * 1024;
/** A connection that sends no whole request for this long is closed (its commit may take longer). */
const requestTimeoutMs = 30_000;

/** A new task as `ygg add` builds it (store.ts's NewTask without its precondition); nothing else. */
const taskSchema = z.strictObject({
  title: z.string(),
  description: z.string().optional(),
  design: z.string().optional(),
  acceptance_criteria: z.string().optional(),
  priority: z.number().optional(),
  issue_type: z.string().optional(),
  labels: z.array(z.string()).optional(),
  assignee: z.string().optional(),
  owner: z.string().optional(),
  created_by: z.string().optional(),
  dependencies: z.array(z.object({ depends_on_id: z.string(), type: z.string() })).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
const limitSchema = z.number().int().nonnegative().optional();
const requestSchema = z.strictObject({
  tasks: z.array(taskSchema).min(1),
  limits: z.strictObject({ maxSize: limitSchema, maxPerSubmitter: limitSchema }).optional(),
  batch: z.boolean(),
});

export class AddIntake {
  private constructor(
    readonly path: string,
    readonly server: Server,
  ) {}

  /**
   * Listens for this loop's store, or returns undefined where no socket can be made (a runtime
   * folder so deep that the path does not fit in a socket address, a read-only folder): commands
   * then write as they do without a loop's intake.
   */
  static async open(store: TaskStore, onAdded: (task: Task) => void): Promise<AddIntake | undefined> {
    const path = newIntakeSocketPath(store.runtimeDir);
    if (Buffer.byteLength(path) > maxSocketPathBytes) return undefined;
    if (!privateFolder(intakeDir(store.runtimeDir))) return undefined;
    const server = createServer();
    const intake = new AddIntake(path, server);
    server.on('connection', (socket) => serve(socket, store, onAdded));
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      // Nobody else can reach it even before the chmod: its folder is this user's alone.
      server.listen(path, () => resolve(true));
    });
    if (!listening) return undefined;
    try {
      chmodSync(path, 0o600);
    } catch {
      intake.close();
      return undefined;
    }
    return intake;
  }

  /** Stops taking requests (those in flight still get their reply) and removes the socket. */
  close(): void {
    this.server.close();
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/**
 * The folder of the sockets, made or checked to be this user's alone (0700): a task added through
 * a socket runs as this loop's user, so nobody else may reach one. A folder another user owns
 * is not used: commands then write the store themselves.
 */
function privateFolder(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const folder = lstatSync(dir);
    if (!folder.isDirectory() || folder.uid !== process.getuid?.()) return false;
    if ((folder.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    return true;
  } catch {
    return false;
  }
}

/** Reads one request line, answers it, and ends the connection. */
function serve(socket: Socket, store: TaskStore, onAdded: (task: Task) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  socket.on('error', () => socket.destroy());
  socket.setTimeout(requestTimeoutMs, () => socket.destroy());
  const onData = (chunk: Buffer) => {
    const end = chunk.indexOf(10);
    chunks.push(end < 0 ? chunk : chunk.subarray(0, end));
    size += chunk.length;
    if (end < 0 && size <= maxRequestBytes) return;
    socket.off('data', onData);
    socket.setTimeout(0);
    const reply = end < 0 ? tooLarge() : handle(Buffer.concat(chunks), store, onAdded);
    void reply
      .catch((error: unknown): IntakeReply => ({ error: toWire(error) }))
      .then((answer) => socket.end(`${JSON.stringify(answer)}\n`));
  };
  socket.on('data', onData);
}

async function tooLarge(): Promise<IntakeReply> {
  return { error: toWire(new Error(`a request over ${maxRequestBytes} bytes`)) };
}

async function handle(bytes: Buffer, store: TaskStore, onAdded: (task: Task) => void): Promise<IntakeReply> {
  let request: IntakeRequest;
  try {
    request = requestSchema.parse(JSON.parse(bytes.toString('utf8'))) as IntakeRequest;
  } catch (error) {
    const why = error instanceof z.ZodError ? z.prettifyError(error) : (error as Error).message;
    return { error: toWire(new Error(`a request that is not an add: ${why}`)) };
  }
  const inputs = request.tasks.map((task) => ({ ...task }) as NewTask);
  guardAdds(inputs, request.limits, request.batch);
  const settled = await Promise.allSettled(inputs.map((input) => store.add(input, { handedOff: true })));
  for (const s of settled) if (s.status === 'fulfilled') onAdded(s.value);
  return {
    results: settled.map((s) => (s.status === 'fulfilled' ? { task: s.value } : { error: toWire(s.reason) })),
  };
}
