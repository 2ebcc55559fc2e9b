/**
 * `ygg doctor`'s dispatchers step on a PostgreSQL store: every dispatcher whose record is fresh,
 * named, with its clock against the database's (its record's own heartbeat time against the
 * database's time of the same write), so skew between dispatcher machines shows from any one.
 */
import type pg from 'pg';
import { type LoopRecord, loopName, loopStaleMs } from '../observe/server/loop-records.js';
import type { DoctorStep } from './doctor-step.js';

export async function dispatchersStep(client: pg.ClientBase, warnMs: number): Promise<DoctorStep> {
  const result = await client.query<{ record: Partial<LoopRecord>; db_ms: string }>(
    `SELECT record, (extract(epoch from heartbeat_at) * 1000)::text AS db_ms FROM ygg_dispatchers
     WHERE heartbeat_at > now() - make_interval(secs => $1::double precision / 1000)
     ORDER BY heartbeat_at`,
    [loopStaleMs],
  );
  const rows = result.rows.filter(
    (r) => typeof r.record.pid === 'number' && typeof r.record.machine === 'string',
  );
  if (rows.length === 0) return { step: 'dispatchers', status: 'ok', detail: 'none running' };
  const seen = rows.map((r) => {
    const skew = Math.round(Date.parse(r.record.heartbeatAt ?? '') - Number(r.db_ms));
    const name = loopName(r.record as LoopRecord);
    return {
      name,
      skew,
      text: Number.isNaN(skew) ? name : `${name} (clock ${skew >= 0 ? '+' : ''}${skew} ms)`,
    };
  });
  const off = seen.filter((s) => Math.abs(s.skew) > warnMs);
  const detail = `${seen.length} running: ${seen.map((s) => s.text).join(', ')}`;
  return off.length === 0
    ? { step: 'dispatchers', status: 'ok', detail }
    : {
        step: 'dispatchers',
        status: 'warn',
        detail,
        fix: `Run NTP on ${off.map((s) => s.name).join(', ')}: their clocks disagree with the database's by over ${warnMs} ms.`,
      };
}
