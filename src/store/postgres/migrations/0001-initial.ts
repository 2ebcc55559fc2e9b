/** Version 1: issues with Beads' fields as columns, the original line, the lease; settings. */
export const initial = {
  version: 1,
  name: 'issues, leases and settings',
  sql: `
CREATE SEQUENCE ygg_revision;

CREATE TABLE ygg_settings (
  key text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE ygg_issues (
  -- the order the issues arrived in (export writes them in it)
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  id text PRIMARY KEY,
  -- bumped from ygg_revision on every write; a mirror catches up with revision > its last
  revision bigint NOT NULL,
  title text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'open',
  priority integer,
  issue_type text,
  assignee text,
  labels jsonb,
  dependencies jsonb,
  comments jsonb,
  created_at timestamptz,
  updated_at timestamptz,
  closed_at timestamptz,
  metadata jsonb,
  -- the issue's JSONL line as last written: an unchanged issue is exported from it byte for byte
  line text NOT NULL,
  lease_owner text,
  lease_token bigint,
  lease_expires timestamptz,
  lease_host text,
  lease_slot integer,
  lease_type text,
  lease_lent boolean NOT NULL DEFAULT false
);

CREATE INDEX ygg_issues_revision ON ygg_issues (revision);
CREATE INDEX ygg_issues_ready ON ygg_issues (priority, created_at, id) WHERE status = 'open';
CREATE INDEX ygg_issues_leases ON ygg_issues (lease_host, lease_expires) WHERE status = 'in_progress';
`,
};
