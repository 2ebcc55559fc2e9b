/**
 * A task's life: the only code that writes task state. Each change is plain data
 * (`changes.ts`), applied by the store as a compare-and-swap fenced by the lease token.
 *
 *                 claim (slot free on the host, type under its cap)
 *   open ───────────────────────────────────────────▶ in_progress ──renew──┐
 *    ▲  ▲                                              │ │ │ │  ▲ ◀────────┘
 *    │  └──── retry later (next_try_at) ───────────────┘ │ │ │  └─ lend slot (waiting on a tool)
 *    └─────── release (shutdown; not counted) ───────────┘ │ │
 *   closed ◀── succeed (result comment) ───────────────────┘ │
 *   blocked (dead) ◀── dead-letter (last attempt) ───────────┘
 *   any ──cancel──▶ closed (cancelled)      blocked (dead) ──send back──▶ open
 *   in_progress, lease lapsed ──claim──▶ in_progress (new token; the old attempt recorded lost
 *                                        and `unended` until its processes are ended on its host)
 *   in_progress ──ended earlier──▶ in_progress (those attempts ended: no longer `unended`)
 *   reverted by a foreign writer ──reassert──▶ our last version back
 */
export { applyChange, mutationFor } from './apply.js';
export type * from './changes.js';
export { isClaimable } from './claim.js';
export { failedAttempts, failedHosts, unreachableAttempts } from './counts.js';
export { leaseLive, type Occupancy, occupancy } from './leases.js';
export { isRevertOf } from './reassert.js';
export { holds, withYgg } from './ygg-meta.js';
