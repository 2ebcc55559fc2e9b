/**
 * Version 5: the database itself refuses to overbook a host, whatever a dispatcher writes.
 *
 * - No two live leases hold one slot: an exclusion constraint over (lease_host, lease_slot) of the
 *   tasks in progress whose slot is not lent. It is checked at commit (deferred), so one batch may
 *   move a lease off a slot and another onto it in any order. A lease that lapsed keeps its row in
 *   progress until its task is taken back; the commit that gives its slot to other work clears
 *   that row's `lease_slot` column first (the line, the source of truth, is not touched).
 * - A lease's slot is one of its host's: a claim onto slot N of a host with N slots or fewer is
 *   refused (checked when a lease is taken, not when it is renewed, so `ygg hosts sync` may shrink
 *   a host while its tasks finish). Hosts the database does not list are not checked: a dispatcher
 *   writes its hosts when it starts.
 */
export const slotConstraint = {
  version: 5,
  name: 'one live lease per slot',
  sql: `
-- Leases that lapsed before this version: their slots are free (their tasks are taken back as before).
UPDATE ygg_issues SET lease_slot = NULL
  WHERE status = 'in_progress' AND lease_slot IS NOT NULL AND lease_expires <= now();

ALTER TABLE ygg_issues ADD CONSTRAINT ygg_lease_slot_index CHECK (lease_slot IS NULL OR lease_slot >= 0);

ALTER TABLE ygg_issues ADD CONSTRAINT ygg_one_lease_per_slot
  EXCLUDE USING btree (lease_host WITH =, lease_slot WITH =)
  WHERE (status = 'in_progress' AND NOT lease_lent AND lease_slot IS NOT NULL)
  DEFERRABLE INITIALLY DEFERRED;

CREATE FUNCTION ygg_check_lease_slot() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  host_slots integer;
BEGIN
  IF NEW.status <> 'in_progress' OR NEW.lease_lent OR NEW.lease_slot IS NULL THEN
    RETURN NULL;
  END IF;
  -- A renewal keeps the slot it was given; only taking a lease (or a slot) is checked.
  IF TG_OP = 'UPDATE' AND OLD.status = 'in_progress' AND NOT OLD.lease_lent
     AND OLD.lease_token IS NOT DISTINCT FROM NEW.lease_token
     AND OLD.lease_host IS NOT DISTINCT FROM NEW.lease_host
     AND OLD.lease_slot IS NOT DISTINCT FROM NEW.lease_slot THEN
    RETURN NULL;
  END IF;
  SELECT slots INTO host_slots FROM ygg_hosts WHERE name = NEW.lease_host;
  IF host_slots IS NOT NULL AND NEW.lease_slot >= host_slots THEN
    RAISE EXCEPTION 'task % would hold slot % of host %, which has % slot(s): that overbooks it',
      NEW.id, NEW.lease_slot, NEW.lease_host, host_slots
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ygg_lease_slot_of_host
  AFTER INSERT OR UPDATE ON ygg_issues
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ygg_check_lease_slot();
`,
};
