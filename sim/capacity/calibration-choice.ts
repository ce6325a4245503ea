// Which runtime calibration a capacity answer uses, and which others bound it. A chip may carry
// several MLX calibrations fitted on different model sizes and releases (sim/profiles/hardware.ts);
// their prefill speeds differ by up to 44 % on the M3 Ultra. The answer uses the closest measurement:
// the calibration fitted on the asked model's size class (its fitted range contains the model, else
// the range nearest in log-size), newest release first on a tie. The others are reported beside it.
// llama.cpp calibrations describe another engine and are not used for an MLX serving stack.
import type { HardwareProfile, RuntimeCalibration, RuntimeId } from '../profiles/types.js';

export interface CalibrationChoice {
  readonly runtime: RuntimeId;
  readonly why: string;
}

/** The chip's MLX calibrations, by runtime id. */
export function mlxCalibrations(hw: HardwareProfile): RuntimeCalibration[] {
  return (Object.values(hw.runtimes) as RuntimeCalibration[]).filter((c) => c.fittedOn.engine === 'mlx');
}

/** Log-distance from a model size to a fitted range (0 inside it). */
function sizeDistance(paramsB: number, [lo, hi]: readonly [number, number]): number {
  if (paramsB < lo) return Math.log(lo / paramsB);
  if (paramsB > hi) return Math.log(paramsB / hi);
  return 0;
}

export function chooseCalibration(hw: HardwareProfile, paramsB: number): CalibrationChoice {
  const ranked = mlxCalibrations(hw)
    .map((c) => ({ c, d: sizeDistance(paramsB, c.fittedOn.paramsB) }))
    .sort((a, b) => a.d - b.d || b.c.fittedOn.release - a.c.fittedOn.release);
  const best = ranked[0];
  if (best === undefined) throw new Error(`${hw.id}: no MLX calibration`);
  const f = best.c.fittedOn;
  const size = `${Math.round(paramsB)} B`;
  const why = best.d === 0
    ? `fitted on this size class (${f.rows}); ${ranked.length > 1 ? `closest of ${ranked.length} MLX calibrations` : 'the only MLX calibration of this chip'}`
    : `nearest in size to ${size} (${f.rows})${ranked.length > 1 ? ` of ${ranked.length} MLX calibrations` : ', the only MLX calibration of this chip'}`;
  return { runtime: best.c.runtime, why };
}
