/**
 * Strict host key checking: a key is accepted only when known_hosts holds it for the host, or
 * when it matches the pinned fingerprint. Anything else refuses, saying what to check.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SshSettings } from '../../config/types.js';
import { HostUnreachableError } from '../transport.js';
import { fingerprint, hostPattern, keysForHost, keyTypeOf, verifyKnownHost } from './known-hosts.js';

/** The host presented a key ygg may not trust; the connection was refused before logging in. */
export class HostKeyError extends HostUnreachableError {
  override readonly name: string = 'HostKeyError';
  constructor(
    host: string,
    message: string,
    readonly hint: string,
    readonly presentedFingerprint: string,
  ) {
    super(host, message);
  }
}

export function knownHostsPath(ssh: SshSettings): string {
  return ssh.knownHosts ?? join(homedir(), '.ssh', 'known_hosts');
}

export interface HostKeyCheck {
  /** Returns true to accept; on false, `failure` says why. */
  verify(keyBlob: Buffer): boolean;
  readonly failure: HostKeyError | undefined;
  /** Host key algorithms to prefer, so the host presents a key type ygg already knows. */
  readonly preferredAlgorithms: string[];
}

// Host key algorithms ssh2 speaks; a known_hosts type outside these cannot be preferred.
const SUPPORTED = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
]);

function algorithmsFor(keyType: string): string[] {
  const names = keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
  return names.filter((name) => SUPPORTED.has(name));
}

function fingerprintOfBase64(keyBase64: string): string {
  return fingerprint(Buffer.from(keyBase64, 'base64'));
}

/** Builds the check for one connection attempt from the known_hosts text read just before it. */
export function hostKeyCheck(hostName: string, ssh: SshSettings, knownHostsText: string): HostKeyCheck {
  const pattern = hostPattern(ssh.address, ssh.port);
  const file = knownHostsPath(ssh);
  const trustHint = `ygg hosts trust ${hostName}`;
  let failure: HostKeyError | undefined;
  const refuse = (message: string, hint: string, presented: string): false => {
    failure = new HostKeyError(hostName, message, hint, presented);
    return false;
  };
  const known = ssh.fingerprint ? [] : keysForHost(knownHostsText, pattern).filter((k) => !k.revoked);
  const preferredAlgorithms = [...new Set(known.flatMap((k) => algorithmsFor(k.keyType)))];

  const verify = (keyBlob: Buffer): boolean => {
    const presented = fingerprint(keyBlob);
    const keyType = keyTypeOf(keyBlob);
    if (ssh.fingerprint) {
      if (presented === ssh.fingerprint) return true;
      return refuse(
        `host key of ${hostName} (${pattern}) is ${presented} (${keyType}), but hosts.yaml pins ${ssh.fingerprint}`,
        `Check the key on the host itself (ssh-keygen -lf /etc/ssh/ssh_host_${keyType.replace(/^ssh-/, '')}_key.pub); if the host was reinstalled, update hosts.${hostName}.fingerprint in hosts.yaml.`,
        presented,
      );
    }
    const verdict = verifyKnownHost(knownHostsText, pattern, keyBlob);
    switch (verdict.kind) {
      case 'match':
        return true;
      case 'revoked':
        return refuse(
          `host key of ${hostName} (${pattern}) is ${presented}, which ${file} line ${verdict.line} marks @revoked`,
          'The key was revoked on purpose: ask whoever runs the host for its new key.',
          presented,
        );
      case 'unknown':
        return refuse(
          `host key of ${hostName} (${pattern}) is not known: ${presented} (${keyType}) is not in ${file}`,
          `Check that ${presented} is the host's own key (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${keyType.replace(/^ssh-/, '')}_key.pub), then run \`${trustHint}\` or pin it as hosts.${hostName}.fingerprint in hosts.yaml.`,
          presented,
        );
      case 'mismatch': {
        const sameType = verdict.known.find((k) => k.keyType === keyType);
        if (!sameType) {
          return refuse(
            `host key of ${hostName} (${pattern}) is ${presented} (${keyType}); ${file} only knows ${verdict.known.map((k) => k.keyType).join(', ')} keys for it`,
            `Check that ${presented} is the host's own key, then run \`${trustHint}\` to add it.`,
            presented,
          );
        }
        return refuse(
          `HOST KEY CHANGED for ${hostName} (${pattern}): it presented ${presented} (${keyType}), but ${file} line ${sameType.line} holds ${fingerprintOfBase64(sameType.keyBase64)}. Someone may be intercepting the connection, or the host was reinstalled.`,
          `Ask whoever runs the host whether its key changed. Only if it did: ssh-keygen -R '${pattern}' -f ${file}, then \`${trustHint}\`.`,
          presented,
        );
      }
    }
  };
  return {
    verify,
    get failure() {
      return failure;
    },
    preferredAlgorithms,
  };
}
