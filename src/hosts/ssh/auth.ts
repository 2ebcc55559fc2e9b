/**
 * How ygg logs in: a private key file (refused when group or others can read it, as ssh does),
 * or the SSH agent. The key's bytes go to ssh2 and nowhere else: never into messages or logs.
 */
import { readFile, stat } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { SshSettings } from '../../config/types.js';
import { HostUnreachableError } from '../transport.js';

/** A login problem the user fixes on this machine (key file, agent). */
export class SshAuthError extends HostUnreachableError {
  override readonly name: string = 'SshAuthError';
  constructor(
    host: string,
    message: string,
    readonly hint: string,
  ) {
    super(host, message);
  }
}

export interface AuthOptions {
  privateKey?: Buffer;
  agent?: string;
  /** What was used, for messages: the key file path or "the SSH agent". */
  describe: string;
}

export async function loadAuth(hostName: string, ssh: SshSettings): Promise<AuthOptions> {
  if (ssh.keyFile === undefined) {
    const agent = process.env.SSH_AUTH_SOCK;
    if (!agent) {
      throw new SshAuthError(
        hostName,
        `no key file is configured for ${hostName} and no SSH agent is running (SSH_AUTH_SOCK is not set)`,
        `Set hosts.${hostName}.key in hosts.yaml to a private key file, or start ssh-agent and ssh-add your key.`,
      );
    }
    return { agent, describe: 'the SSH agent' };
  }
  const file = ssh.keyFile;
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (error) {
    throw new SshAuthError(
      hostName,
      `key file ${file} for ${hostName} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      `Check hosts.${hostName}.key in hosts.yaml (a path relative to hosts.yaml, or ~/...).`,
    );
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new SshAuthError(
      hostName,
      `key file ${file} for ${hostName} is open to group or others (mode ${octal}); a private key must be readable by its owner only`,
      `Run: chmod 600 ${file}`,
    );
  }
  const privateKey = await readFile(file);
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) {
    // ssh2's messages name the problem (format, passphrase), never the key's bytes.
    throw new SshAuthError(
      hostName,
      `key file ${file} for ${hostName} cannot be used: ${parsed.message}`,
      `ygg needs an unencrypted OpenSSH or PEM private key file in hosts.${hostName}.key, or no key there to use the SSH agent.`,
    );
  }
  return { privateKey, describe: file };
}
