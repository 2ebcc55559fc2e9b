/**
 * A command's side of the add intake (see protocol.ts): hands adds to a loop listening on this
 * machine, or says that none listens so that the command writes the store itself.
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { YggError } from '../../errors.js';
import type { Task } from '../../store/task.js';
import { fromWire, type IntakeReply, type IntakeRequest, intakeDir, ownSockets } from './protocol.js';

/** How long a loop may take to answer: its commit may wait for the store's lock (60 s at most). */
const replyTimeoutMs = 120_000;

/**
 * The request's outcome per task, in order (a task, or the error the loop refused it with), or
 * undefined when no loop on this machine took the request: nothing was added then. Once a loop
 * took it, a loop that dies before answering is an error that says the tasks may be in the store.
 */
export async function addThroughLoop(
  runtimeDir: string,
  request: IntakeRequest,
): Promise<Array<PromiseSettledResult<Task>> | undefined> {
  const dir = intakeDir(runtimeDir);
  let sockets: Array<{ name: string; pid: number }>;
  try {
    sockets = ownSockets(readdirSync(dir));
  } catch {
    return undefined;
  }
  const line = `${JSON.stringify(request)}\n`;
  for (const { name, pid } of sockets) {
    const reply = await exchange(join(dir, name), pid, line);
    if (reply === undefined) continue;
    if ('error' in reply) throw fromWire(reply.error);
    return reply.results.map((result) =>
      'task' in result
        ? { status: 'fulfilled', value: result.task }
        : { status: 'rejected', reason: fromWire(result.error) },
    );
  }
  return undefined;
}

/** One request and its reply; undefined when nobody listens there (a dead loop's socket is removed). */
function exchange(path: string, pid: number, line: string): Promise<IntakeReply | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let connected = false;
    const chunks: Buffer[] = [];
    const lost = (why: string) =>
      new YggError(`the loop listening at ${path} took the add but ${why}`, {
        hint: 'The tasks may have been added: `ygg list` shows them. Check that loop, then add what is missing.',
      });
    const timer = setTimeout(() => socket.destroy(lost('did not answer in time')), replyTimeoutMs);
    timer.unref();
    socket.on('connect', () => {
      connected = true;
      socket.write(line);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (connected) return reject(error instanceof YggError ? error : lost(`failed: ${error.message}`));
      // A socket left by a loop that was killed: nobody listens, and its process is gone (a live
      // one refuses only in the instant between making its socket and listening on it).
      if (error.code === 'ECONNREFUSED' && !alive(pid)) {
        try {
          unlinkSync(path);
        } catch {
          // another command removed it first
        }
      }
      resolve(undefined);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return reject(lost('closed the connection without an answer'));
      try {
        resolve(JSON.parse(text) as IntakeReply);
      } catch {
        reject(lost('answered with something that is not a reply'));
      }
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
