// The capacity answer's searches as plain job descriptions (issue 21, parallel): a question's query is
// built from (def, question, seed) by `questionQuery`, and each extra search of the answer — another
// seed, another calibration, a sensitivity — is that query under a `CapacityVariant`. A job holds only
// structured-clonable data (the scenario definition, indices, numbers), so a worker thread rebuilds the
// very same query the main thread would (`answerJob`), and the in-process path runs the same function.
import { resolveGatewayConfig } from '../core/config/validate.js';
import { chooseCalibration, type CalibrationChoice } from '../sim/capacity/calibration-choice.js';
import { runInWorkers, simThreads } from '../sim/capacity/parallel.js';
import { planCapacity, type CapacityQuery } from '../sim/capacity/planner.js';
import { hinted } from '../sim/capacity/seed-spread.js';
import { createLatencyModel, type LatencyModel } from '../sim/latency/latency-model.js';
import { scaledLatency } from '../sim/latency/scaled.js';
import { getHardware, withMemoryGB } from '../sim/profiles/hardware.js';
import { getModel } from '../sim/profiles/models.js';
import type { HardwareProfile, ModelProfile, RuntimeId } from '../sim/profiles/types.js';
import type { OpenLoopConfig } from '../sim/workload/types.js';
import type { CapacityQuestion, ScenarioDef } from './define.js';

/** How an extra search differs from the question's own query. */
export type CapacityVariant =
  | { readonly kind: 'seed'; readonly seed: number }
  | { readonly kind: 'calibration'; readonly runtime: RuntimeId }
  | { readonly kind: 'scale'; readonly prefillSpeed?: number; readonly decodeSpeed?: number }
  | { readonly kind: 'prompts'; readonly factor: number };

export interface CapacityJob {
  readonly def: ScenarioDef;
  /** Index into def.capacity. */
  readonly question: number;
  readonly seed: number;
  readonly variant: CapacityVariant;
  /** The question's own answer, where the search starts (null: none; then an exact search). */
  readonly hint: number | null;
  readonly relativeTolerance: number;
}

/** What every question of a capacity scenario shares: hardware, model, the chosen calibration. */
export interface CapacitySetup {
  readonly base: OpenLoopConfig;
  readonly hw: HardwareProfile;
  readonly model: ModelProfile;
  readonly chosen: CalibrationChoice;
  readonly latency: LatencyModel;
  readonly latencyFor: (runtime: RuntimeId) => LatencyModel;
}

export function capacitySetup(def: ScenarioDef): CapacitySetup {
  if (def.workload.type !== 'open') throw new Error(`${def.name}: capacity questions need an open-loop workload`);
  const c = def.cluster;
  const hw = c.memoryGB === undefined ? getHardware(c.hardware) : withMemoryGB(getHardware(c.hardware), c.memoryGB);
  const model = getModel(c.model);
  const latencyFor = (runtime: RuntimeId): LatencyModel =>
    createLatencyModel({ hardware: hw, model: c.model, quantization: c.quantization, runtime, ...(c.kvPrecision !== undefined && { kvPrecision: c.kvPrecision }) });
  const chosen = chooseCalibration(hw, model.totalParams.value / 1e9);
  return { base: def.workload, hw, model, chosen, latency: latencyFor(chosen.runtime), latencyFor };
}

export interface QuestionQuery {
  readonly query: CapacityQuery;
  /** Mean prompt, and what one such prompt alone costs: the SLO's floors. */
  readonly meanPrompt: number;
  readonly ttftFloorMs: number;
  readonly itlFloorMs: number;
  /** The SLO was raised to what the hardware allows. */
  readonly relaxed: boolean;
}

/** The question's own query: its rate, and the SLO the hardware allows (3× / 2× the single-stream floor). */
export function questionQuery(def: ScenarioDef, s: CapacitySetup, q: CapacityQuestion, seed: number): QuestionQuery {
  const workload: OpenLoopConfig = { ...s.base, rate: { type: 'constant', rps: q.targetRps } };
  // What one stream costs on this hardware, before any queueing: a latency SLO below these floors
  // cannot be met by adding Macs.
  const meanPrompt = meanOf(s.base.promptTokens);
  const ttftFloorMs = s.latency.prefillMs(meanPrompt, 0) + s.latency.requestOverheadMs;
  const itlFloorMs = s.latency.decodeStepMs(1, meanPrompt);
  const slo = { ttftP95Ms: Math.max(q.slo.ttftP95Ms, Math.ceil(3 * ttftFloorMs)), itlP95Ms: Math.max(q.slo.itlP95Ms, Math.ceil(2 * itlFloorMs)) };
  const relaxed = slo.ttftP95Ms !== q.slo.ttftP95Ms || slo.itlP95Ms !== q.slo.itlP95Ms;
  const query: CapacityQuery = {
    latency: s.latency, workload, gateway: resolveGatewayConfig(def.candidate.gateway), maxSequences: def.cluster.maxSequences, slo, seed, workersMax: 2048,
    meanOutputTokens: meanOf(s.base.outputTokens), meanPromptTokens: meanOf(s.base.promptTokens),
  };
  return { query, meanPrompt, ttftFloorMs, itlFloorMs, relaxed };
}

/** `query` under `v`: another seed, calibration, speed or prompt length; SLO and rate unchanged. */
export function variantQuery(s: CapacitySetup, query: CapacityQuery, v: CapacityVariant): CapacityQuery {
  switch (v.kind) {
    case 'seed':
      return { ...query, seed: v.seed };
    case 'calibration':
      return { ...query, latency: s.latencyFor(v.runtime) };
    case 'scale':
      return { ...query, latency: scaledLatency(query.latency, { ...(v.prefillSpeed !== undefined && { prefillSpeed: v.prefillSpeed }), ...(v.decodeSpeed !== undefined && { decodeSpeed: v.decodeSpeed }) }) };
    case 'prompts': {
      const workload: OpenLoopConfig = { ...query.workload, promptTokens: scaleLengths(query.workload.promptTokens, v.factor) };
      return { ...query, workload, meanPromptTokens: meanOf(workload.promptTokens) };
    }
  }
}

/** One extra search: the job's query rebuilt from its description, searched from the hint. Workers needed (null: none up to workersMax). */
export function answerJob(job: CapacityJob): number | null {
  const question = job.def.capacity?.[job.question];
  if (question === undefined) throw new Error(`${job.def.name}: no capacity question ${job.question}`);
  const s = capacitySetup(job.def);
  const { query } = questionQuery(job.def, s, question, job.seed);
  return planCapacity(hinted(variantQuery(s, query, job.variant), job.hint, job.relativeTolerance)).workers;
}

/** Every job's answer, in the jobs' order: on worker threads (MLX_SERVING_SIM_THREADS, default one per core), or in-process when that is 1. */
export async function answerJobs(jobs: readonly CapacityJob[]): Promise<(number | null)[]> {
  const threads = simThreads(jobs.length);
  if (threads <= 1) return jobs.map(answerJob);
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return runInWorkers<CapacityJob, number | null>(new URL(`./capacity-worker.${ext}`, import.meta.url), jobs, threads);
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

export function meanOf(d: OpenLoopConfig['outputTokens']): number {
  switch (d.type) {
    case 'fixed':
      return d.tokens;
    case 'uniform':
      return (d.minTokens + d.maxTokens) / 2;
    case 'lognormal':
      return d.meanTokens;
  }
}
