// Capacity questions: the architecture document's sizing table answered three ways side by side —
// the document's own number, its formula N = ceil(RPS × latency / (maxConcurrent × hitRate)), and the
// simulation search (sim/capacity/planner.ts) against calibrated hardware — plus the roofline decode
// rate, i.e. what the hardware can physically do for one stream.
import { workersByFormula } from '../core/capacity/formula.js';
import { resolveGatewayConfig } from '../core/config/validate.js';
import { planCapacity } from '../sim/capacity/planner.js';
import { getHardware, withMemoryGB } from '../sim/profiles/hardware.js';
import { getModel } from '../sim/profiles/models.js';
import type { OpenLoopConfig } from '../sim/workload/types.js';
import type { ScenarioDef } from './define.js';
import type { CapacityRow, RunSummary } from './result.js';
import { latencyModelFor, runPolicySet } from './sim-run.js';

export function answerCapacity(def: ScenarioDef, seed: number, tick: () => void): { rows: CapacityRow[]; candidate: RunSummary; notes: string[] } {
  if (def.workload.type !== 'open') throw new Error(`${def.name}: capacity questions need an open-loop workload`);
  const base: OpenLoopConfig = def.workload;
  const latency = latencyModelFor(def);
  const hw = def.cluster.memoryGB === undefined ? getHardware(def.cluster.hardware) : withMemoryGB(getHardware(def.cluster.hardware), def.cluster.memoryGB);
  const model = getModel(def.cluster.model);
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
    const answer = planCapacity({
      latency, workload, gateway, maxSequences: def.cluster.maxSequences, slo, seed, workersMax: 2048,
      meanOutputTokens: meanOf(base.outputTokens), meanPromptTokens: meanOf(base.promptTokens),
    });
    tick();
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
      note:
        `SLO TTFT p95 ≤ ${slo.ttftP95Ms} ms, ITL p95 ≤ ${slo.itlP95Ms} ms, 100 % success` +
        (relaxed ? ` (relaxed from ${q.slo.ttftP95Ms} / ${q.slo.itlP95Ms} ms: one ${meanPrompt}-token prompt alone takes ${Math.round(ttftFloorMs)} ms to first token and ${Math.round(itlFloorMs)} ms per token on this hardware)` : '') +
        `; ${answer.trials.length} simulations (physical lower bound ${answer.lowerBound} workers)`,
    });
    notes.push(`${q.useCase}: tried ${answer.trials.map((t) => `${t.workers}${t.meets ? '✓' : '✗'}`).join(' ')}`);
    lastWorkload = workload;
    lastWorkers = answer.workers ?? lastWorkers;
  }
  // The run shown in the report: the last question's cluster at its answered size.
  const candidate = runPolicySet({ ...def, workload: lastWorkload }, { ...def.candidate, workers: lastWorkers }, seed).summary;
  return { rows, candidate, notes };
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
