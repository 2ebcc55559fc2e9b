/**
 * A port on 127.0.0.1 whose connects hang: a child process listens with a backlog of 1 and never
 * accepts (its event loop is blocked), and two connections fill the accept queue, so the kernel
 * drops further SYNs, as a host that has gone away does. For testing connect timeouts.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

export interface UnresponsivePort extends AsyncDisposable {
  port: number;
  close(): Promise<void>;
}

const listener = `
const net = require('node:net');
const server = net.createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  // Block in the same synchronous run as the write: the event loop never gets to accept().
  require('node:fs').writeSync(1, server.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});
`;

export async function startUnresponsivePort(): Promise<UnresponsivePort> {
  const child = spawn(process.execPath, ['-e', listener], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.setEncoding('utf8').once('data', (line: string) => resolve(Number(line.trim())));
  });
  // The accept queue holds backlog + 1 connections; once both are in, new SYNs are dropped.
  const fillers: Socket[] = [];
  await Promise.all(
    [0, 1].map(
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => resolve());
          socket.on('error', reject);
          fillers.push(socket);
        }),
    ),
  );
  const close = async (): Promise<void> => {
    for (const socket of fillers) socket.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
  };
  return { port, close, [Symbol.asyncDispose]: close };
}
