import type { HostConfig } from '../config/types.js';
import { localSandboxCapabilities } from './sandbox-local.js';
import type { SandboxCapabilities } from './sandbox-probe.js';
import { SshTransport } from './ssh/transport.js';
import type { Transport } from './transport.js';

/** A host's sandbox capabilities, through its transport (SSH) or on this machine (local). */
export function sandboxCapabilitiesOf(host: HostConfig, transport: Transport): Promise<SandboxCapabilities> {
  if (transport instanceof SshTransport) return transport.sandboxCapabilities();
  return localSandboxCapabilities(host.sandbox.runAs ?? 'nobody');
}
