import { describe, expect, it } from 'vitest';
import { InvariantError } from '../util/assert.js';
import { countsByPhase, ENTRY_PHASES, PHASE_TRANSITIONS, transition, type Phase } from './phases.js';

describe('request phases', () => {
  it('every phase is reachable from an entry phase, and the table names every phase', () => {
    const seen = new Set<Phase>(ENTRY_PHASES);
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of [...seen]) {
        for (const q of PHASE_TRANSITIONS[p]) {
          if (seen.has(q)) continue;
          seen.add(q);
          grew = true;
        }
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(countsByPhase()).sort());
    expect(Object.keys(PHASE_TRANSITIONS).sort()).toEqual(Object.keys(countsByPhase()).sort());
  });

  it('moves along the table and refuses anything else', () => {
    const t = { phase: 'waiting' as Phase, phaseSinceMs: 0 };
    transition(t, 'routing', 5);
    transition(t, 'queued', 6);
    transition(t, 'running', 7);
    expect(t).toEqual({ phase: 'running', phaseSinceMs: 7 });
    expect(() => transition(t, 'queued', 8)).toThrow(InvariantError);
    expect(() => transition(t, 'running', 8)).toThrow('phase running → running is not a transition');
    expect(t).toEqual({ phase: 'running', phaseSinceMs: 7 });
  });
});
