// The architecture document's sizing table (Small / Medium / Large), answered by the simulation
// search and set beside the document's numbers and formula.
import { defineScenario, type ScenarioDef } from '../define.js';

const CHAT_OPEN = {
  arrival: { type: 'poisson' },
  durationMs: 120_000,
  promptTokens: { type: 'lognormal', meanTokens: 512, cv: 0.6, minTokens: 16, maxTokens: 4096 },
  outputTokens: { type: 'lognormal', meanTokens: 256, cv: 0.6, minTokens: 8, maxTokens: 1024 },
  temperature: 0.7,
} as const;

/** The document's formula inputs: 2 s average latency, 4 concurrent per worker, 85 % cache hit rate. */
const DOC_FORMULA = { avgLatencyS: 2, maxConcurrent: 4, cacheHitRate: 0.85 } as const;
const SLO = { ttftP95Ms: 2000, itlP95Ms: 250 } as const;
const NOTES = [
  'Workload assumed (the document does not state one): Poisson chat, prompts ~512 tokens, answers ~256 tokens (lognormal, CV 0.6). SLO: TTFT p95 ≤ 2 s, ITL p95 ≤ 250 ms, 100 % success.',
  "The formula N = ceil(RPS × latency / (maxConcurrent × hitRate)) assumes each worker sustains 4 requests of 2 s each whatever the model and chip; the simulation asks the calibrated latency model instead. Where they disagree, the hardware's bandwidth (roofline column) says which is possible.",
];

function capacityScenario(name: string, title: string, useCase: string, hardware: string, memoryGB: number, model: string, rps: number, documentWorkers: number, seed: number): ScenarioDef {
  return defineScenario({
    name,
    title,
    description: `${useCase}: ${rps} RPS of ${model} on ${hardware}. The document's sizing table says ${documentWorkers} workers.`,
    seed,
    workload: { type: 'open', model, rate: { type: 'constant', rps }, ...CHAT_OPEN },
    cluster: { hardware, model, quantization: 'mlx-4bit', kvPrecision: 'int8', maxSequences: 16, memoryGB, network: { baseLatencyMs: 0.3, jitterMs: 0.2, jitter: 'uniform' } },
    baseline: { name: 'direct engine', kind: 'direct' },
    candidate: { name: 'mlx-serving', kind: 'gateway', workers: 1, gateway: { routing: { type: 'least-loaded' }, caching: { dedupe: { enabled: false }, responseCache: { enabled: false }, coalescing: { enabled: false } } } },
    targets: [],
    capacity: [{ useCase, targetRps: rps, documentWorkers, slo: SLO, formula: DOC_FORMULA }],
    notes: NOTES,
    inDefaultSuite: false,
  });
}

export const capacitySmall = capacityScenario('capacity-small', 'Capacity — Small: 10 RPS of a 32B model on M3 Pro', 'Small', 'm3-pro', 36, 'qwen2.5-32b', 10, 6, 901);
export const capacityMedium = capacityScenario('capacity-medium', 'Capacity — Medium: 50 RPS of a 70B model on M3 Ultra', 'Medium', 'm3-ultra', 96, 'llama-3.1-70b', 50, 30, 902);
export const capacityLarge = capacityScenario('capacity-large', 'Capacity — Large: 200 RPS of a 70B model on M3 Ultra', 'Large', 'm3-ultra', 96, 'llama-3.1-70b', 200, 120, 903);
