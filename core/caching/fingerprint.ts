// A request's fingerprint: a 64-bit hash of everything that determines its output — the model, the
// prompt or messages, every sampling parameter, the log-probabilities and the response format asked for. Two requests with equal fingerprints and a
// deterministic sampler (temperature 0, or a fixed seed) produce the same tokens, so one answer can
// serve both. Fields are length-prefixed by the hasher so no two different requests feed it alike.
import type { InferenceRequest } from '../types.js';
import { Hash64 } from '../util/hash.js';

export function fingerprint(req: InferenceRequest): string {
  const h = new Hash64().str(req.model).str(req.prompt.kind);
  const p = req.prompt;
  if (p.kind === 'text') h.str(p.text);
  else {
    h.num(p.messages.length);
    for (const m of p.messages) {
      h.str(m.role).str(m.content);
      // Tool calls and results: hashed only when present, so every other message hashes as before.
      if (m.toolCalls !== undefined) h.str('tool_calls').str(m.toolCalls);
      if (m.toolCallId !== undefined) h.str('tool_call_id').str(m.toolCallId);
    }
  }
  const s = req.sampling;
  h.num(s.temperature).num(s.topP).num(s.maxTokens).num(s.seed).num(s.stop?.length ?? 0);
  for (const stop of s.stop ?? []) h.str(stop);
  // Log-probabilities are part of the answer: a request asking for none must not serve one that asks.
  // Hashed only when asked for, so every other request keeps the fingerprint it had before.
  if (s.logprobs !== undefined) h.str('logprobs').num(s.logprobs);
  // Structured output constrains the tokens: two requests differing in schema never share an answer.
  // Hashed only when present, like logprobs.
  if (s.responseFormat !== undefined) h.str('response_format').str(s.responseFormat);
  // Tools are rendered into the prompt and tool_choice may constrain the output; hashed only when present.
  if (s.tools !== undefined) h.str('tools').str(s.tools);
  if (s.toolChoice !== undefined) h.str('tool_choice').str(s.toolChoice);
  return h.hex();
}

/** Whether a request may share an answer with another: deterministic sampling, not opted out. */
export function isShareable(req: InferenceRequest, shareNondeterministic: boolean): boolean {
  if (req.cacheBypass === true) return false;
  return shareNondeterministic || req.sampling.temperature === 0 || req.sampling.seed !== undefined;
}
