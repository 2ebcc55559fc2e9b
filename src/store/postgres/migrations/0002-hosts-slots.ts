/**
 * Version 2: the hosts and their slots, as the dispatchers' hosts.yaml wrote them. The first
 * dispatcher to name a host writes it; one whose hosts.yaml differs follows the database and
 * says so; `ygg hosts sync` makes a change deliberately. Leases stay on the issue rows.
 */
export const hostsSlots = {
  version: 2,
  name: 'hosts and slots',
  sql: `
CREATE TABLE ygg_hosts (
  name text PRIMARY KEY,
  slots integer NOT NULL CHECK (slots > 0),
  -- the types hosts.yaml routes to the host and its roles, for people reading the table
  types jsonb NOT NULL DEFAULT '[]',
  roles jsonb NOT NULL DEFAULT '[]',
  -- GPU indices and slots per GPU, and declared GPU memory, when hosts.yaml has them
  gpus jsonb,
  gpu_memory_gb double precision,
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- the dispatcher (lease owner: machine:pid:start) or command that wrote the row
  updated_by text NOT NULL
);

CREATE TABLE ygg_slots (
  host text NOT NULL REFERENCES ygg_hosts (name) ON DELETE CASCADE,
  slot integer NOT NULL CHECK (slot >= 0),
  PRIMARY KEY (host, slot)
);
`,
};
