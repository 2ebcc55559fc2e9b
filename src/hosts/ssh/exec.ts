/**
 * One command on one channel. sshd ran it as a session leader, so its process group is the
 * whole command; a `signal` request makes sshd `killpg` that group, which is how cancellation
 * and timeouts reach the remote side.
 */
import type { Client, ClientChannel } from 'ssh2';
import { BoundedOutput, DEFAULT_MAX_OUTPUT_BYTES } from '../output.js';
import type { ExecOptions, ExecResult, LimitReason } from '../transport.js';
import { HostUnreachableError } from '../transport.js';

/** sshd refused the channel (its MaxSessions): the caller queues and tries again. */
export class ChannelRefusedError extends Error {
  override readonly name: string = 'ChannelRefusedError';
}

/** After a kill, how long to wait for sshd to report the exit before giving up on the channel. */
const KILL_WAIT_MS = 5000;

/** Sends the exec request; `onOpen` runs synchronously in ssh2's callback. */
function openExec(
  client: Client,
  hostName: string,
  command: string,
  onOpen: (channel: ClientChannel) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (error, channel) => {
        if (!error) {
          // Listeners go on before ssh2 parses the rest of the packet it is reading: a fast
          // command's exit status can arrive in the same read as the exec's confirmation.
          onOpen(channel);
          return resolve();
        }
        if (/open failed|administratively prohibited/i.test(error.message)) {
          return reject(new ChannelRefusedError(error.message));
        }
        reject(new HostUnreachableError(hostName, `${hostName}: ${error.message}`, { cause: error }));
      });
    } catch (error) {
      // ssh2 throws "Not connected" when the socket went away between lease and exec.
      reject(
        new HostUnreachableError(hostName, `${hostName}: ${(error as Error).message}`, { cause: error }),
      );
    }
  });
}

interface ChannelInternals {
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal(id: number, name: string): void } };
}

/**
 * Sends a signal request. ssh2's `channel.signal()` stays silent once stdin is closed (it checks
 * that the channel is writable), yet stdin is closed for nearly every command; the request is
 * valid until the channel closes, so it is sent through the protocol directly.
 */
function sendSignal(channel: ClientChannel, name: string): boolean {
  const internals = channel as unknown as ChannelInternals;
  const id = internals.outgoing?.id;
  const protocol = internals._client?._protocol;
  const state = internals.outgoing?.state;
  // 'eof' means only our side finished writing; the remote command still runs.
  if (id === undefined || (state !== 'open' && state !== 'eof') || !protocol) return false;
  protocol.signal(id, name);
  return true;
}

/** Runs a full remote command line on a fresh channel of `client`. */
export async function execOnChannel(
  client: Client,
  hostName: string,
  command: string,
  options: ExecOptions,
): Promise<ExecResult> {
  const started = performance.now();
  let outcome: Promise<ExecResult> | undefined;
  await openExec(client, hostName, command, (channel) => {
    outcome = watchChannel(channel, client, hostName, options, started);
  });
  return outcome!;
}

/** Collects a running command's output and end; kills its process group on timeout or abort. */
function watchChannel(
  channel: ClientChannel,
  client: Client,
  hostName: string,
  options: ExecOptions,
  started: number,
): Promise<ExecResult> {
  const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const onOutput = options.onOutput;
  const stdout = new BoundedOutput(limit, onOutput && ((text) => onOutput(text, 'stdout')));
  const stderr = new BoundedOutput(limit, onOutput && ((text) => onOutput(text, 'stderr')));
  return new Promise<ExecResult>((resolve, reject) => {
    let code: number | null = null;
    let signal: string | null = null;
    let exited = false;
    let ended: LimitReason | undefined;
    let killWait: NodeJS.Timeout | undefined;
    let settled = false;

    const cleanup = () => {
      settled = true;
      clearTimeout(timer);
      clearTimeout(killWait);
      options.signal?.removeEventListener('abort', onAbort);
      client.removeListener('close', onDrop);
    };
    const finish = () => {
      if (settled) return;
      cleanup();
      stdout.end();
      stderr.end();
      const result: ExecResult = {
        code,
        signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        durationMs: performance.now() - started,
      };
      if (ended) result.limit = ended;
      resolve(result);
    };
    const kill = (reason: LimitReason) => {
      if (ended || exited) return;
      ended = reason;
      try {
        sendSignal(channel, 'KILL');
      } catch {
        // The channel is already closing; its close finishes the result.
      }
      killWait = setTimeout(() => {
        // sshd never reported the exit (an old sshd without signal support): give up the channel.
        signal = signal ?? 'SIGKILL';
        channel.close();
        finish();
      }, KILL_WAIT_MS);
    };
    const onAbort = () => kill('cancelled');
    const onDrop = () => {
      if (settled) return;
      if (exited) return finish();
      cleanup();
      reject(new HostUnreachableError(hostName, `connection to ${hostName} dropped while a command ran`));
    };
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => kill('time'), options.timeoutMs);

    channel.on('data', (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    channel.on('exit', (exitCode: number | null, exitSignal?: string) => {
      exited = true;
      if (typeof exitCode === 'number') code = exitCode;
      else if (exitSignal) signal = exitSignal.startsWith('SIG') ? exitSignal : `SIG${exitSignal}`;
    });
    channel.on('error', () => undefined);
    channel.on('close', () => (exited || ended ? finish() : onDrop()));
    client.once('close', onDrop);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    if (options.stdin !== undefined) channel.end(options.stdin);
    else channel.end();
  });
}
