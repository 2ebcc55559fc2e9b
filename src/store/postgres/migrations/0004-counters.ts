/** Version 3: the counters `ygg stats` shows, summed over every dispatcher on the database. */
export const counters = {
  version: 4,
  name: 'counters',
  sql: `
CREATE TABLE ygg_counters (
  -- 'submitters' or 'types'
  scope text NOT NULL,
  key text NOT NULL,
  field text NOT NULL,
  value bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, key, field)
);
`,
};
