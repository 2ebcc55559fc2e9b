import type { Client, SFTPWrapper } from 'ssh2';
import { HostUnreachableError } from '../transport.js';
import { ChannelRefusedError } from './exec.js';

/** Opens an SFTP session on its own channel (it counts against sshd's MaxSessions like exec). */
export function openSftp(client: Client, hostName: string): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    try {
      client.sftp((error, sftp) => {
        if (!error) return resolve(sftp);
        if (/open failed|administratively prohibited/i.test(error.message)) {
          return reject(new ChannelRefusedError(error.message));
        }
        reject(new HostUnreachableError(hostName, `${hostName}: SFTP: ${error.message}`, { cause: error }));
      });
    } catch (error) {
      reject(
        new HostUnreachableError(hostName, `${hostName}: ${(error as Error).message}`, { cause: error }),
      );
    }
  });
}

export function sftpTransfer(
  sftp: SFTPWrapper,
  direction: 'put' | 'get',
  localPath: string,
  remotePath: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null) => {
      sftp.end();
      if (error)
        reject(
          new Error(`${direction} ${direction === 'put' ? remotePath : localPath}: ${error.message}`, {
            cause: error,
          }),
        );
      else resolve();
    };
    if (direction === 'put') sftp.fastPut(localPath, remotePath, done);
    else sftp.fastGet(remotePath, localPath, done);
  });
}
