// Every routing config variant builds the matching policy, with its parameters.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTING } from '../config/defaults.js';
import type { InferenceRequest } from '../types.js';
import { createRoutingPolicy } from './factory.js';
import { testView } from './test-views.js';

const req = { id: 'r', model: 'm', prompt: { kind: 'text', text: '' }, promptTokens: 1, prefixBlocks: [], sampling: { temperature: 0, topP: 1, maxTokens: 1 }, stream: false, sessionId: 's' } as InferenceRequest;

describe('createRoutingPolicy', () => {
  it('builds one policy per variant, named after its type', () => {
    for (const cfg of Object.values(DEFAULT_ROUTING)) {
      const p = createRoutingPolicy(cfg);
      expect(p.name).toBe(cfg.type);
      expect(p.pick(req, [], { nowMs: 0, rng: () => 0, allWorkerIds: ['a'] })).toBeUndefined();
    }
  });

  it('passes overloadFraction to session affinity', () => {
    const p = createRoutingPolicy({ type: 'session-affinity', overloadFraction: 0 });
    // With overloadFraction 0 every target counts as overloaded: least-loaded wins (b).
    const cands = [testView('a', 1), testView('b', 0)];
    expect(p.pick(req, cands, { nowMs: 0, rng: () => 0, allWorkerIds: ['a'] })?.id).toBe('b');
  });
});
