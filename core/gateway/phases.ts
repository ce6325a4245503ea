// The phases of a request the gateway core tracks, and the only moves between them. The table is the
// documentation and the assertion (h11's style): every phase change goes through `transition`, which
// fails loudly on a move the table does not list.
//
//   (arrived) ─┬─> waiting ──> routing ─┬─> running ──> backoff ──> waiting …
//              │                        └─> queued ──> running
//              └─> following ──> waiting (released by its leader's timeout: runs alone)
//
// Leaving tracking is not a phase: from any phase a request may end (complete, fail, reject, its
// client gone) and is removed; it then receives its one terminal command (gateway-core.ts).
import { invariantFailed } from '../util/assert.js';

/** waiting: in the batcher · routing: released by it, being placed · queued: no free worker yet · backoff: before a retry · following: a coalesced follower. */
export type Phase = 'waiting' | 'routing' | 'queued' | 'backoff' | 'running' | 'following';

/** The phases a request starts in. */
export const ENTRY_PHASES: readonly Phase[] = ['waiting', 'following'];

/** From each phase, the phases it may move to. */
export const PHASE_TRANSITIONS: { readonly [from in Phase]: readonly Phase[] } = {
  waiting: ['routing'],
  routing: ['running', 'queued'],
  queued: ['running'],
  running: ['backoff'],
  backoff: ['waiting'],
  following: ['waiting'],
};

export interface Phased {
  phase: Phase;
  phaseSinceMs: number;
}

/** Moves `t` to `to` at `nowMs`; a move the table does not list is our bug. */
export function transition(t: Phased, to: Phase, nowMs: number): void {
  if (!PHASE_TRANSITIONS[t.phase].includes(to)) invariantFailed(`phase ${t.phase} → ${to} is not a transition`);
  t.phase = to;
  t.phaseSinceMs = nowMs;
}

/** Zero counts for every phase. */
export function countsByPhase(): Record<Phase, number> {
  return { waiting: 0, routing: 0, queued: 0, backoff: 0, running: 0, following: 0 };
}
