// The step planner's starting cost model on a simulated worker: the latency model's own decode and
// prefill costs, read at a few points (a calibrated profile plays this part on a real machine). The
// planner then learns from the simulated step times as the runtime learns from measured ones.
import type { StepCostPrior } from '../../core/scheduling/step-cost.js';
import type { LatencyModel } from '../latency/latency-model.js';

export function plannerPriorFrom(lat: LatencyModel): StepCostPrior {
  const lo = 8;
  const hi = 32;
  const dLo = lat.decodeStepMs(lo, 0);
  const perSequenceMs = (lat.decodeStepMs(hi, 0) - dLo) / (hi - lo);
  return {
    baseMs: Math.max(0, dLo - lo * perSequenceMs),
    perSequenceMs: Math.max(0, perSequenceMs),
    perKiloContextMs: Math.max(0, lat.decodeStepMs(lo, 1024) - dLo),
    prefillPassMs: 0,
    perKiloPrefillTokensMs: lat.prefillMs(1024, 0),
  };
}
