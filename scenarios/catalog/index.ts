// Every scenario, in the order the suite runs them.
import type { ScenarioDef } from '../define.js';
import { capacityLarge, capacityMedium, capacitySmall } from './capacity.js';
import { overloadDegradation, overloadEarlyRefusal } from './degradation.js';
import { breakerFailover, clusterScaleOut, idleUnload, memoryGovernance, sessionAffinity, warmupPool } from './cluster.js';
import { rollingRestart, runtimeCrash, slowWorker } from './faults.js';
import { liveSmoke } from './live.js';
import { clusterScaleOutGpu, clusterScaleOutGpuKill } from './scale-out.js';
import { scalingSignal } from './scaling.js';
import { fairnessBurst } from './fairness.js';
import { canaryRollout } from './canary.js';
import { phase1DuplicateHeavy, phase2Mixed, phase3HighConcurrency } from './phases.js';

export const SCENARIOS: readonly ScenarioDef[] = [
  phase1DuplicateHeavy,
  phase2Mixed,
  phase3HighConcurrency,
  clusterScaleOut,
  clusterScaleOutGpu,
  clusterScaleOutGpuKill,
  sessionAffinity,
  warmupPool,
  memoryGovernance,
  breakerFailover,
  slowWorker,
  runtimeCrash,
  idleUnload,
  rollingRestart,
  overloadDegradation,
  overloadEarlyRefusal,
  capacitySmall,
  capacityMedium,
  capacityLarge,
  liveSmoke,
  scalingSignal,
  fairnessBurst,
  canaryRollout,
];

export function findScenario(name: string): ScenarioDef | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
