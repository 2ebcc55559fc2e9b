/** One transport per configured host, made on first use: local ones sandbox like ygg's own. */
import type { HostConfig } from '../../src/config/types.js';
import { createTransport } from '../../src/hosts/pool.js';
import type { Transport } from '../../src/hosts/transport.js';

export function localTransports(hosts: readonly HostConfig[]): (name: string) => Transport {
  const made = new Map<string, Transport>();
  return (name) => {
    let transport = made.get(name);
    if (!transport) {
      const host = hosts.find((h) => h.name === name);
      if (!host) throw new Error(`no host named ${name}`);
      transport = createTransport(host);
      made.set(name, transport);
    }
    return transport;
  };
}
