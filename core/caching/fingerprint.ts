// A request's fingerprint: a 64-bit hash of everything that determines its output — the model, the
// prompt or messages, and every sampling parameter. Two requests with equal fingerprints and a
// deterministic sampler (temperature 0, or a fixed seed) produce the same tokens, so one answer can
// serve both. Fields are length-prefixed so that no two different requests serialise alike.
import type { InferenceRequest, PromptContent, SamplingParams } from '../types.js';
import { hash64Hex } from '../util/hash.js';

export function fingerprint(req: InferenceRequest): string {
  return hash64Hex(canonicalRequest(req.model, req.prompt, req.sampling));
}

export function canonicalRequest(model: string, prompt: PromptContent, s: SamplingParams): string {
  const parts: string[] = [field(model), prompt.kind];
  if (prompt.kind === 'text') parts.push(field(prompt.text));
  else for (const m of prompt.messages) parts.push(field(m.role), field(m.content));
  parts.push(
    `t${s.temperature}`,
    `p${s.topP}`,
    `m${s.maxTokens}`,
    `s${s.seed ?? '-'}`,
    `x${s.stop?.length ?? 0}`,
    ...(s.stop ?? []).map(field),
  );
  return parts.join('|');
}

/** Whether a request may share an answer with another: deterministic sampling, not opted out. */
export function isShareable(req: InferenceRequest, shareNondeterministic: boolean): boolean {
  if (req.cacheBypass === true) return false;
  return shareNondeterministic || req.sampling.temperature === 0 || req.sampling.seed !== undefined;
}

function field(s: string): string {
  return `${s.length}:${s}`;
}
