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
import { workersByFormula } from '../core/capacity/formula.js';
import { resolveGatewayConfig } from '../core/config/validate.js';
import { chooseCalibration, mlxCalibrations } from '../sim/capacity/calibration-choice.js';
import { planCapacity, type CapacityQuery } from '../sim/capacity/planner.js';
import { seedSpread, spreadSeeds } from '../sim/capacity/seed-spread.js';
import { createLatencyModel, type LatencyModel } from '../sim/latency/latency-model.js';
import { scaledLatency } from '../sim/latency/scaled.js';
import { getHardware, withMemoryGB } from '../sim/profiles/hardware.js';
import { getModel } from '../sim/profiles/models.js';
import type { OpenLoopConfig } from '../sim/workload/types.js';
import type { ScenarioDef } from './define.js';
import type { CapacityRow, RunSummary } from '../reports/result.js';
import { runPolicySet } from './sim-run.js';

/** The band and sensitivity searches stop within 2 % of their answer. */
const SENSITIVITY_TOLERANCE = 0.02;
/** How far each assumption is moved. */
const SENSITIVITY = 0.2;
/** Seeds each answer is searched under (its own included), and how close each seed's search gets (0.5 %). */
const SEEDS_PER_ANSWER = 5;
const SEED_TOLERANCE = 0.005;

export function answerCapacity(def: ScenarioDef, seed: number, tick: () => void): { rows: CapacityRow[]; candidate: RunSummary; notes: string[] } {
  if (def.workload.type !== 'open') throw new Error(`${def.name}: capacity questions need an open-loop workload`);
  const base: OpenLoopConfig = def.workload;
  const hw = def.cluster.memoryGB === undefined ? getHardware(def.cluster.hardware) : withMemoryGB(getHardware(def.cluster.hardware), def.cluster.memoryGB);
  const model = getModel(def.cluster.model);
  const c = def.cluster;
  const latencyFor = (runtime: CalibrationRuntime): LatencyModel =>
    createLatencyModel({ hardware: hw, model: c.model, quantization: c.quantization, runtime, ...(c.kvPrecision !== undefined && { kvPrecision: c.kvPrecision }) });
  const chosen = chooseCalibration(hw, model.totalParams.value / 1e9);
  const latency = latencyFor(chosen.runtime);
  const rooflineTokPerS = hw.bandwidthBytesPerSec.value / latency.modelBytes;
  const gateway = resolveGatewayConfig(def.candidate.gateway);
  const rows: CapacityRow[] = [];
  const notes: string[] = [];
  let lastWorkload = base;
  let lastWorkers = 1;
  for (const q of def.capacity ?? []) {
    const workload: OpenLoopConfig = { ...base, rate: { type: 'constant', rps: q.targetRps } };
    // What one stream costs on this hardware, before any queueing: a latency SLO below these floors
    // cannot be met by adding Macs. Then the search uses the SLO the hardware allows (3× / 2× floor).
    const meanPrompt = meanOf(base.promptTokens);
    const ttftFloorMs = latency.prefillMs(meanPrompt, 0) + latency.requestOverheadMs;
    const itlFloorMs = latency.decodeStepMs(1, meanPrompt);
    const slo = { ttftP95Ms: Math.max(q.slo.ttftP95Ms, Math.ceil(3 * ttftFloorMs)), itlP95Ms: Math.max(q.slo.itlP95Ms, Math.ceil(2 * itlFloorMs)) };
    const relaxed = slo.ttftP95Ms !== q.slo.ttftP95Ms || slo.itlP95Ms !== q.slo.itlP95Ms;
    const query: CapacityQuery = {
      latency, workload, gateway, maxSequences: def.cluster.maxSequences, slo, seed, workersMax: 2048,
      meanOutputTokens: meanOf(base.outputTokens), meanPromptTokens: meanOf(base.promptTokens),
    };
    const answer = planCapacity(query);
    tick();
    const seeds = seedSpread(query, answer, spreadSeeds(seed, SEEDS_PER_ANSWER), SEED_TOLERANCE);
    const near = (over: Partial<CapacityQuery>): number | null =>
      planCapacity({ ...query, ...over, ...(answer.workers !== null && { hint: answer.workers, relativeTolerance: SENSITIVITY_TOLERANCE }) }).workers;
    const bands = [
      ...mlxCalibrations(hw).map((cal) => ({ calibration: cal.runtime, workers: cal.runtime === chosen.runtime ? answer.workers : near({ latency: latencyFor(cal.runtime) }) })),
      { calibration: 'physical lower bound', workers: answer.lowerBound },
    ];
    const prompt = (f: number): Partial<CapacityQuery> => {
      const w: OpenLoopConfig = { ...workload, promptTokens: scaleLengths(workload.promptTokens, f) };
      return { workload: w, meanPromptTokens: meanOf(w.promptTokens) };
    };
    const sensitivity = [
      { assumption: `prefill ${pct(1 + SENSITIVITY)} faster`, workers: near({ latency: scaledLatency(latency, { prefillSpeed: 1 + SENSITIVITY }) }) },
      { assumption: `prefill ${pct(1 + SENSITIVITY)} slower`, workers: near({ latency: scaledLatency(latency, { prefillSpeed: 1 - SENSITIVITY }) }) },
      { assumption: `decode ${pct(1 + SENSITIVITY)} faster`, workers: near({ latency: scaledLatency(latency, { decodeSpeed: 1 + SENSITIVITY }) }) },
      { assumption: `decode ${pct(1 + SENSITIVITY)} slower`, workers: near({ latency: scaledLatency(latency, { decodeSpeed: 1 - SENSITIVITY }) }) },
      { assumption: `prompts ${pct(1 + SENSITIVITY)} shorter`, workers: near(prompt(1 - SENSITIVITY)) },
      { assumption: `prompts ${pct(1 + SENSITIVITY)} longer`, workers: near(prompt(1 + SENSITIVITY)) },
    ];
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

type CalibrationRuntime = ReturnType<typeof chooseCalibration>['runtime'];

function pct(f: number): string {
  return `${Math.round(Math.abs(f - 1) * 100)} %`;
}

/** The same length distribution with every length × f (bounds too), whole tokens, at least 1. */
function scaleLengths(d: OpenLoopConfig['promptTokens'], f: number): OpenLoopConfig['promptTokens'] {
  const t = (n: number) => Math.max(1, Math.round(n * f));
  switch (d.type) {
    case 'fixed':
      return { ...d, tokens: t(d.tokens) };
    case 'uniform':
      return { ...d, minTokens: t(d.minTokens), maxTokens: t(d.maxTokens) };
    case 'lognormal':
      return { ...d, meanTokens: t(d.meanTokens), minTokens: t(d.minTokens), maxTokens: t(d.maxTokens) };
  }
}

function meanOf(d: OpenLoopConfig['outputTokens']): number {
  switch (d.type) {
    case 'fixed':
      return d.tokens;
    case 'uniform':
      return (d.minTokens + d.maxTokens) / 2;
    case 'lognormal':
      return d.meanTokens;
  }
}
