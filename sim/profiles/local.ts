// The `local` profile: what a calibration run measured on one machine for one model, as a JSON file.
// Format (version 1, all fields required unless marked optional):
// {
//   "format": "mlx-serving.local-profile.v1",
//   "source": "calibrate on <host>, <ISO date>, mlx-lm <version>",
//   "hardware": { "name": "Mac Studio M3 Ultra", "memoryBytes": 549755813888,
//                 "bandwidthBytesPerSec": 819e9 (optional: enables the roofline check),
//                 "usableMemoryFraction": 0.75 (optional, default 0.75) },
//   "model": { "id": "llama-3.1-8b-4bit", "modelBytes": 4.5e9, "kvBytesPerToken": 131072,
//              "contextTokensMax": 131072 },
//   "prefillTokensPerSec": 1175,                     // measured, uncached prompt
//   "decodeStepMs": { "a": 8.0, "bPerSequence": 0.4, "cPerKiloContextToken": 0.05 },
//        // fitted: stepMs = a + b·batch + c·totalContextTokens/1000 (totalContextTokens = batch × mean context)
//   "requestOverheadMs": 2,
//   "loadMs": 1200 (optional: measured cold load; default modelBytes ÷ 4 GB/s)
//   "joinCost": { "perStepMs": 80, "perPromptMs": 10 } (optional: a decode step in which k prompts join
//        costs perStepMs + perPromptMs·k more, beyond their prefill; scenarios/calibrate-join.ts)
//   "sampledRowMs": 0.1 (optional: a decode step costs this much more per row when its batch holds a
//        request sampled at temperature > 0, which makes mlx-lm sample row by row; calibrate measures
//        the decode step at temperature 0 and 0.7)
//   "answerReuse": 0.5 (optional, 0…1, default 1: the share of a session's previous answer its next turn
//        finds in the runtime's prefix cache; calibrate measures a follow-up turn at temperature 0.7)
// }
import { checkPositive, ProfileError } from './types.js';

export const LOCAL_PROFILE_FORMAT = 'mlx-serving.local-profile.v1';

export interface LocalProfile {
  readonly format: typeof LOCAL_PROFILE_FORMAT;
  readonly source: string;
  readonly hardware: { readonly name: string; readonly memoryBytes: number; readonly bandwidthBytesPerSec?: number; readonly usableMemoryFraction?: number };
  readonly model: { readonly id: string; readonly modelBytes: number; readonly kvBytesPerToken: number; readonly contextTokensMax: number };
  readonly prefillTokensPerSec: number;
  readonly decodeStepMs: { readonly a: number; readonly bPerSequence: number; readonly cPerKiloContextToken: number };
  readonly requestOverheadMs: number;
  readonly loadMs?: number;
  readonly joinCost?: { readonly perStepMs: number; readonly perPromptMs: number };
  readonly sampledRowMs?: number;
  readonly answerReuse?: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(name: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new ProfileError(name, field, 'must be a non-empty string');
  return v;
}

/** Validates parsed JSON as a LocalProfile. Errors name the field and the reason. */
export function parseLocalProfile(json: unknown, name = 'local'): LocalProfile {
  if (!isObj(json)) throw new ProfileError(name, '(root)', 'must be a JSON object');
  if (json.format !== LOCAL_PROFILE_FORMAT) throw new ProfileError(name, 'format', `must be "${LOCAL_PROFILE_FORMAT}", got ${JSON.stringify(json.format)}`);
  const source = str(name, 'source', json.source);
  const hw = json.hardware;
  if (!isObj(hw)) throw new ProfileError(name, 'hardware', 'must be an object');
  const model = json.model;
  if (!isObj(model)) throw new ProfileError(name, 'model', 'must be an object');
  const step = json.decodeStepMs;
  if (!isObj(step)) throw new ProfileError(name, 'decodeStepMs', 'must be an object {a, bPerSequence, cPerKiloContextToken}');
  const num = (field: string, v: unknown, allowZero = false): number => checkPositive(name, field, v as number, allowZero);
  const p: LocalProfile = {
    format: LOCAL_PROFILE_FORMAT,
    source,
    hardware: {
      name: str(name, 'hardware.name', hw.name),
      memoryBytes: num('hardware.memoryBytes', hw.memoryBytes),
      ...(hw.bandwidthBytesPerSec !== undefined ? { bandwidthBytesPerSec: num('hardware.bandwidthBytesPerSec', hw.bandwidthBytesPerSec) } : {}),
      ...(hw.usableMemoryFraction !== undefined ? { usableMemoryFraction: num('hardware.usableMemoryFraction', hw.usableMemoryFraction) } : {}),
    },
    model: {
      id: str(name, 'model.id', model.id),
      modelBytes: num('model.modelBytes', model.modelBytes),
      kvBytesPerToken: num('model.kvBytesPerToken', model.kvBytesPerToken),
      contextTokensMax: num('model.contextTokensMax', model.contextTokensMax),
    },
    prefillTokensPerSec: num('prefillTokensPerSec', json.prefillTokensPerSec),
    decodeStepMs: {
      a: num('decodeStepMs.a', step.a),
      bPerSequence: num('decodeStepMs.bPerSequence', step.bPerSequence, true),
      cPerKiloContextToken: num('decodeStepMs.cPerKiloContextToken', step.cPerKiloContextToken, true),
    },
    requestOverheadMs: num('requestOverheadMs', json.requestOverheadMs, true),
    ...(json.loadMs !== undefined ? { loadMs: num('loadMs', json.loadMs) } : {}),
    ...(json.joinCost !== undefined ? { joinCost: joinCostOf(name, json.joinCost) } : {}),
    ...(json.sampledRowMs !== undefined ? { sampledRowMs: num('sampledRowMs', json.sampledRowMs, true) } : {}),
    ...(json.answerReuse !== undefined ? { answerReuse: num('answerReuse', json.answerReuse, true) } : {}),
  };
  if (p.answerReuse !== undefined && p.answerReuse > 1) throw new ProfileError(name, 'answerReuse', `must be <= 1, got ${p.answerReuse}`);
  const frac = p.hardware.usableMemoryFraction ?? 0.75;
  if (frac > 1) throw new ProfileError(name, 'hardware.usableMemoryFraction', `must be <= 1, got ${frac}`);
  if (p.model.modelBytes >= p.hardware.memoryBytes * frac) {
    throw new ProfileError(name, 'model.modelBytes', `does not fit in memory: ${p.model.modelBytes} bytes >= usable ${Math.floor(p.hardware.memoryBytes * frac)} bytes`);
  }
  const bw = p.hardware.bandwidthBytesPerSec;
  if (bw !== undefined) {
    const stepMs = p.decodeStepMs.a + p.decodeStepMs.bPerSequence;
    const rooflineMs = (p.model.modelBytes / bw) * 1000;
    if (stepMs < rooflineMs) throw new ProfileError(name, 'decodeStepMs', `batch-1 step ${stepMs.toFixed(3)} ms is faster than the roofline ${rooflineMs.toFixed(3)} ms (modelBytes ÷ bandwidth)`);
  }
  return p;
}

function joinCostOf(name: string, v: unknown): { perStepMs: number; perPromptMs: number } {
  if (!isObj(v)) throw new ProfileError(name, 'joinCost', 'must be an object {perStepMs, perPromptMs}');
  return { perStepMs: checkPositive(name, 'joinCost.perStepMs', v.perStepMs as number, true), perPromptMs: checkPositive(name, 'joinCost.perPromptMs', v.perPromptMs as number, true) };
}
