/** Version 2: each running dispatcher's status record, so a monitor on any machine sees them all. */
export const dispatchers = {
  version: 3,
  name: 'dispatcher records',
  sql: `
CREATE TABLE ygg_dispatchers (
  -- the dispatcher's lease owner (machine:pid:start)
  owner text PRIMARY KEY,
  record jsonb NOT NULL,
  -- on the database's clock: a record not refreshed for a while is a dead dispatcher's
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
`,
};
