// A latency model from a calibrated local profile (a JSON file written by a calibration run):
//   prefillMs = (promptTokens - cachedTokens) / prefillTokensPerSec × 1000
//   decodeStepMs = a + b·batch + c·totalContextTokens / 1000
//   coldStartMs = loadMs (measured) or modelBytes / 4 GB/s
//   joinCost (measured, optional): charged by the worker per step in which prompts join
//   sampledRowMs (measured, optional): charged by the worker per row of a decode batch that samples row by row
//   answerReuse (measured, optional): the share of a session's previous answer its next turn finds cached
import { readFileSync } from 'node:fs';
import { parseLocalProfile, type LocalProfile } from '../profiles/local.js';
import type { DecodeStepBreakdown, LatencyModel, PrefillBreakdown } from './latency-model.js';

const DEFAULT_LOAD_BYTES_PER_SEC = 4e9;

export class LocalLatencyModel implements LatencyModel {
  readonly id: string;
  readonly modelBytes: number;
  readonly kvBytesPerToken: number;
  readonly memoryBytesUsable: number;
  readonly kvCapacityBytes: number;
  readonly requestOverheadMs: number;
  readonly contextTokensMax: number;
  readonly joinCost?: { readonly perStepMs: number; readonly perPromptMs: number };
  readonly sampledRowMs?: number;
  readonly answerReuse?: number;
  private readonly msPerPromptToken: number;

  constructor(readonly profile: LocalProfile) {
    this.id = `local/${profile.hardware.name}/${profile.model.id}`;
    this.modelBytes = profile.model.modelBytes;
    this.kvBytesPerToken = profile.model.kvBytesPerToken;
    this.memoryBytesUsable = profile.hardware.memoryBytes * (profile.hardware.usableMemoryFraction ?? 0.75);
    this.kvCapacityBytes = this.memoryBytesUsable - this.modelBytes;
    this.requestOverheadMs = profile.requestOverheadMs;
    this.contextTokensMax = profile.model.contextTokensMax;
    this.msPerPromptToken = 1000 / profile.prefillTokensPerSec;
    if (profile.joinCost !== undefined) this.joinCost = profile.joinCost;
    if (profile.sampledRowMs !== undefined) this.sampledRowMs = profile.sampledRowMs;
    if (profile.answerReuse !== undefined) this.answerReuse = profile.answerReuse;
  }

  prefillMs(promptTokens: number, cachedTokens: number): number {
    const t = promptTokens - Math.min(Math.max(cachedTokens, 0), promptTokens);
    return t * this.msPerPromptToken;
  }

  prefillBreakdown(promptTokens: number, cachedTokens: number): PrefillBreakdown {
    const totalMs = this.prefillMs(promptTokens, cachedTokens);
    return { tokens: totalMs / this.msPerPromptToken, matmulMs: totalMs, attentionMs: 0, totalMs };
  }

  decodeStepMs(batchSize: number, totalContextTokens: number): number {
    const s = this.profile.decodeStepMs;
    return s.a + s.bPerSequence * batchSize + (s.cPerKiloContextToken * totalContextTokens) / 1000;
  }

  decodeStepBreakdown(batchSize: number, totalContextTokens: number): DecodeStepBreakdown {
    const s = this.profile.decodeStepMs;
    const kvMs = (s.cPerKiloContextToken * totalContextTokens) / 1000;
    const perSequenceMs = s.bPerSequence * batchSize;
    return { overheadMs: s.a, weightsMs: 0, kvMs, perSequenceMs, totalMs: s.a + perSequenceMs + kvMs };
  }

  coldStartMs(): number {
    return this.profile.loadMs ?? (this.modelBytes / DEFAULT_LOAD_BYTES_PER_SEC) * 1000;
  }
}

/** Reads, validates and wraps a local profile file. */
export function loadLocalLatencyModel(path: string): LocalLatencyModel {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`local profile ${path}: cannot read JSON`, { cause });
  }
  return new LocalLatencyModel(parseLocalProfile(json, path));
}
