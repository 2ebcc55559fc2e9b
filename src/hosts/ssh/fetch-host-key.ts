/**
 * Reads the key a host presents, without logging in (the handshake is stopped right after the
 * key arrives). For `ygg hosts trust` and `ygg doctor`.
 */
import ssh2 from 'ssh2';
import type { SshSettings } from '../../config/types.js';
import { HostUnreachableError } from '../transport.js';

export function fetchHostKey(hostName: string, ssh: SshSettings): Promise<Buffer> {
  const client = new ssh2.Client();
  return new Promise<Buffer>((resolve, reject) => {
    let key: Buffer | undefined;
    const timer = setTimeout(() => {
      client.destroy();
      reject(
        new HostUnreachableError(
          hostName,
          `${ssh.address}:${ssh.port} sent no host key within ${ssh.connectTimeoutMs} ms`,
        ),
      );
    }, ssh.connectTimeoutMs);
    const done = (error?: Error) => {
      clearTimeout(timer);
      client.destroy();
      if (key) resolve(key);
      else
        reject(
          new HostUnreachableError(
            hostName,
            `could not read the host key of ${ssh.address}:${ssh.port}: ${error?.message ?? 'closed'}`,
            { cause: error },
          ),
        );
    };
    client.on('error', (error: Error) => done(error));
    client.on('close', () => done());
    client.connect({
      host: ssh.address,
      port: ssh.port,
      username: ssh.user,
      readyTimeout: ssh.connectTimeoutMs,
      hostVerifier: (blob: Buffer) => {
        key = blob;
        // Refusing ends the handshake here: nothing is sent that could log in.
        return false;
      },
    });
  });
}
