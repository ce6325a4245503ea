// Capacity questions: the architecture document's sizing table answered three ways side by side —
// the document's own number, its formula N = ceil(RPS × latency / (maxConcurrent × hitRate)), and the
// simulation search (sim/capacity/planner.ts) against calibrated hardware — plus the roofline decode
// rate, i.e. what the hardware can physically do for one stream.
//
// An answer shows its uncertainty (issue 21): it uses the calibration closest to the asked model
// (sim/capacity/calibration-choice.ts) and names it; beside it, the answer under every other MLX
// calibration of the chip and the physical lower bound (the band), and how it moves when prefill speed,
// decode speed or prompt length is 20 % off (the sensitivity). Those extra searches start from the
// answer and stop within SENSITIVITY_TOLERANCE of theirs. The answer is also asked again under
// SEEDS_PER_ANSWER − 1 other seeds (other arrivals and lengths): the seed spread, min–median–max.
// Those extra searches are independent of one another: they run on worker threads, one per core
// (scenarios/capacity-jobs.ts; MLX_SERVING_SIM_THREADS=1 runs them here, one after the other), and give
// the same result byte for byte either way.
import { workersByFormula } from '../core/capacity/formula.js';
import { mlxCalibrations } from '../sim/capacity/calibration-choice.js';
import { planCapacity } from '../sim/capacity/planner.js';
import { spreadOf, spreadSeeds } from '../sim/capacity/seed-spread.js';
import type { ScenarioDef } from './define.js';
import type { CapacityRow, RunSummary } from '../reports/result.js';
import { answerJobs, capacitySetup, questionQuery, type CapacityJob, type CapacityVariant } from './capacity-jobs.js';
import { runPolicySet } from './sim-run.js';

/** The band and sensitivity searches stop within 2 % of their answer. */
const SENSITIVITY_TOLERANCE = 0.02;
/** How far each assumption is moved. */
const SENSITIVITY = 0.2;
/** Seeds each answer is searched under (its own included), and how close each seed's search gets (0.5 %). */
const SEEDS_PER_ANSWER = 5;
const SEED_TOLERANCE = 0.005;

const SENSITIVITIES: readonly { readonly assumption: string; readonly variant: CapacityVariant }[] = [
  { assumption: `prefill ${pct(1 + SENSITIVITY)} faster`, variant: { kind: 'scale', prefillSpeed: 1 + SENSITIVITY } },
  { assumption: `prefill ${pct(1 + SENSITIVITY)} slower`, variant: { kind: 'scale', prefillSpeed: 1 - SENSITIVITY } },
  { assumption: `decode ${pct(1 + SENSITIVITY)} faster`, variant: { kind: 'scale', decodeSpeed: 1 + SENSITIVITY } },
  { assumption: `decode ${pct(1 + SENSITIVITY)} slower`, variant: { kind: 'scale', decodeSpeed: 1 - SENSITIVITY } },
  { assumption: `prompts ${pct(1 + SENSITIVITY)} shorter`, variant: { kind: 'prompts', factor: 1 - SENSITIVITY } },
  { assumption: `prompts ${pct(1 + SENSITIVITY)} longer`, variant: { kind: 'prompts', factor: 1 + SENSITIVITY } },
];

/**
 * Answers def.capacity. Each question's own search runs here; its extra searches (seeds, calibrations,
 * sensitivity), independent of one another, run on worker threads (capacity-jobs.ts answerJobs;
 * MLX_SERVING_SIM_THREADS=1: in-process), each the same deterministic search, so the result is the same.
 */
export async function answerCapacity(def: ScenarioDef, seed: number, tick: () => void): Promise<{ rows: CapacityRow[]; candidate: RunSummary; notes: string[] }> {
  const setup = capacitySetup(def);
  const { hw, model, chosen, latency } = setup;
  const rooflineTokPerS = hw.bandwidthBytesPerSec.value / latency.modelBytes;
  const rows: CapacityRow[] = [];
  const notes: string[] = [];
  let lastWorkload = setup.base;
  let lastWorkers = 1;
  for (const [question, q] of (def.capacity ?? []).entries()) {
    const { query, meanPrompt, ttftFloorMs, itlFloorMs, relaxed } = questionQuery(def, setup, q, seed);
    const { slo, workload } = query;
    const answer = planCapacity(query);
    tick();
    const job = (variant: CapacityVariant, relativeTolerance: number): CapacityJob => ({ def, question, seed, variant, hint: answer.workers, relativeTolerance });
    const seedList = spreadSeeds(seed, SEEDS_PER_ANSWER);
    const otherCalibrations = mlxCalibrations(hw).filter((cal) => cal.runtime !== chosen.runtime);
    const found = await answerJobs([
      ...seedList.slice(1).map((s) => job({ kind: 'seed', seed: s }, SEED_TOLERANCE)),
      ...otherCalibrations.map((cal) => job({ kind: 'calibration', runtime: cal.runtime }, SENSITIVITY_TOLERANCE)),
      ...SENSITIVITIES.map((x) => job(x.variant, SENSITIVITY_TOLERANCE)),
    ]);
    const seedWorkers = found.slice(0, seedList.length - 1);
    const calibrationWorkers = found.slice(seedWorkers.length, seedWorkers.length + otherCalibrations.length);
    const sensitivityWorkers = found.slice(seedWorkers.length + otherCalibrations.length);
    const seeds = spreadOf(seedList, [answer.workers, ...seedWorkers]);
    const bands = [
      ...mlxCalibrations(hw).map((cal) => ({ calibration: cal.runtime, workers: cal.runtime === chosen.runtime ? answer.workers : calibrationWorkers[otherCalibrations.indexOf(cal)] ?? null })),
      { calibration: 'physical lower bound', workers: answer.lowerBound },
    ];
    const sensitivity = SENSITIVITIES.map((x, k) => ({ assumption: x.assumption, workers: sensitivityWorkers[k] ?? null }));
    const f = workersByFormula({ targetRps: q.targetRps, ...q.formula, headroomFraction: 0.25 });
    const best = answer.trials.find((t) => t.workers === answer.workers);
    rows.push({
      useCase: q.useCase,
      model: model.name,
      hardware: hw.name,
      targetRps: q.targetRps,
      documentWorkers: q.documentWorkers,
      formulaWorkers: f.workers,
      formulaWorkersWithHeadroom: f.workersWithHeadroom,
      simulatedWorkers: answer.workers,
      simulatedTtftP95Ms: best?.ttftP95Ms ?? null,
      simulatedItlP95Ms: best?.itlP95Ms ?? null,
      rooflineDecodeTokPerS: Math.round(rooflineTokPerS * 10) / 10,
      calibration: { runtime: chosen.runtime, why: chosen.why },
      bands,
      sensitivity,
      seedSpread: seeds,
      note:
        `SLO TTFT p95 ≤ ${slo.ttftP95Ms} ms, ITL p95 ≤ ${slo.itlP95Ms} ms, 100 % success` +
        (relaxed ? ` (relaxed from ${q.slo.ttftP95Ms} / ${q.slo.itlP95Ms} ms: one ${meanPrompt}-token prompt alone takes ${Math.round(ttftFloorMs)} ms to first token and ${Math.round(itlFloorMs)} ms per token on this hardware)` : '') +
        `; ${answer.trials.length} simulations (physical lower bound ${answer.lowerBound} workers)`,
    });
    notes.push(`${q.useCase}: tried ${answer.trials.map((t) => `${t.workers}${t.meets ? '✓' : '✗'}`).join(' ')}`);
    notes.push(`${q.useCase}: across ${seeds.seeds.length} seeds (${seeds.seeds.join(', ')}; each search within ${SEED_TOLERANCE * 100} %) the answer is ${seeds.workers.map((w) => w ?? '—').join(' / ')} workers: min ${seeds.min ?? '—'}, median ${seeds.median ?? '—'}, max ${seeds.max ?? '—'}.`);
    const unmet = [...bands, ...sensitivity].filter((x) => x.workers === null).map((x) => ('assumption' in x ? x.assumption : `calibration ${x.calibration}`));
    if (unmet.length > 0) notes.push(`${q.useCase}: "—" in the band or sensitivity: no cluster of up to 2048 workers meets the same SLO under ${unmet.join(', ')} (the SLO was set from the chosen calibration's single-request floor; a slower prefill puts that floor itself out of reach).`);
    lastWorkload = workload;
    lastWorkers = answer.workers ?? lastWorkers;
  }
  // The run shown in the report: the last question's cluster at its answered size.
  const candidate = runPolicySet({ ...def, workload: lastWorkload }, { ...def.candidate, workers: lastWorkers }, seed, { latency }).summary;
  return { rows, candidate, notes };
}

function pct(f: number): string {
  return `${Math.round(Math.abs(f - 1) * 100)} %`;
}
