// Fairness between tenants (issue 19): a steady tenant beside one that bursts, behind one gateway whose
// queue is first come first served (baseline) or fair between tenants (candidate, core.fairness).
import { defineScenario } from '../define.js';
import type { OpenLoopConfig } from '../../sim/workload/types.js';
import { LLAMA8B_ON_M3_ULTRA } from './common.js';

const LENGTHS = {
  model: 'llama-3.1-8b', arrival: { type: 'poisson' }, durationMs: 300_000, temperature: 0.7,
  promptTokens: { type: 'lognormal', meanTokens: 300, cv: 0.6, minTokens: 16, maxTokens: 4096 },
  outputTokens: { type: 'lognormal', meanTokens: 200, cv: 0.6, minTokens: 8, maxTokens: 1024 },
} as const;
const STEADY: OpenLoopConfig = { type: 'open', ...LENGTHS, tenant: 'steady', rate: { type: 'constant', rps: 0.5 } };
const BURST: OpenLoopConfig = { type: 'open', ...LENGTHS, tenant: 'burst', rate: { type: 'spike', baseRps: 0.25, spikeRps: 12, startMs: 60_000, durationMs: 45_000 } };

// Requests wait at the gateway, not in the workers' own queues (16 per worker, the batch limit), and
// nobody is refused or timed out: only the order of the gateway's queue differs between the two.
const ADMISSION = { maxConcurrentPerWorker: 16, queueTimeoutMs: 600_000, earlyRefusalFactor: 0 } as const;

export const fairnessBurst = defineScenario({
  name: 'fairness-burst',
  title: "Fairness between tenants — one tenant's burst beside a steady one",
  description: "Two tenants share 3 M3 Ultras (Llama-3.1-8B, 16 sequences each): 'steady' sends 0.5 req/s throughout; 'burst' sends 0.25 req/s and, for 45 s, 12 req/s, about twice what the cluster serves, so a backlog of a few hundred requests builds at the gateway and takes about a minute to drain. First come first served, the steady tenant's requests queue behind the burst; with fairness between tenants (start-time fair queueing, equal weights) they go ahead of it. Target: the steady tenant's TTFT p95 at most a quarter of first come first served, the same throughput, everyone served.",
  seed: 2020,
  workload: { type: 'mix', model: 'llama-3.1-8b', durationMs: 300_000, parts: [STEADY, BURST] },
  cluster: LLAMA8B_ON_M3_ULTRA,
  baseline: { name: 'first come first served (2 workers)', kind: 'gateway', workers: 3, gateway: { admission: ADMISSION } },
  candidate: { name: 'fair between tenants (2 workers)', kind: 'gateway', workers: 3, gateway: { admission: ADMISSION, fairness: { enabled: true } } },
  targets: [
    { metric: 'extra.ttftP95Ms.steady', kind: 'ratio-max', value: 0.25 },
    { metric: 'successRate', kind: 'min', value: 100 },
    { metric: 'outputTokPerS', kind: 'ratio-min', value: 0.99 },
  ],
  report: ['extra.ttftP50Ms.steady', 'extra.ttftP50Ms.burst', 'extra.ttftP95Ms.burst'],
  notes: ['The burst tenant pays for its own burst: its requests wait behind each other instead of in front of the steady tenant, so its TTFT grows a little while the total work served is the same.'],
  inDefaultSuite: true,
});
