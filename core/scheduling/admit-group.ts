// When the runtime hands waiting prompts to mlx-lm's BatchGenerator: at once (mlx-lm's way), or held
// until a group has gathered. Written for issue 15: on an H200 a step that carries a prompt cost
// ~130 ms more than a decode step in both servers, for a few hundred new tokens
// (reports/reference/gpu/README.md, fifth session), and in a closed loop each such step carried about
// one prompt. Whatever part of that cost is paid per insertion (the decode batch's KV copied to make
// room, the prompt batch deep-copied on split, the buffer cache cleared) is paid once per group when
// prompts join together. Holding costs the held prompts at most `maxWaitMs` of TTFT.
// The python runtime runs the same function (python/mlx_runtime/admit_group.py), kept equal by the
// conformance table python/tests/data/admit_group_cases.json (`npm run gen:conformance`).

export interface AdmitGroupConfig {
  /** Prompts to gather before they join a busy decode batch; 1 = at once (mlx-lm's behaviour). */
  readonly minGroup: number;
  /** The longest a prompt is held for a group, in ms. */
  readonly maxWaitMs: number;
}

export interface AdmitGroupState {
  /** Prompts waiting to be handed to the generator. */
  readonly waiting: number;
  /** How long the oldest of them has waited, ms. */
  readonly oldestWaitMs: number;
  /** Sequences decoding or prefilling in the generator now. */
  readonly busy: number;
  /** Sequences the generator can still take (its batch cap less `busy`). */
  readonly freeSlots: number;
}

export const ADMIT_AT_ONCE: AdmitGroupConfig = { minGroup: 1, maxWaitMs: 0 };

/** How many waiting prompts to hand over now: 0 (hold) or all that fit. */
export function admitNow(cfg: AdmitGroupConfig, s: AdmitGroupState): number {
  const fit = Math.min(s.waiting, s.freeSlots);
  if (fit <= 0) return 0;
  // An idle generator gains nothing from waiting; a group that fills the free slots cannot grow.
  if (s.busy === 0 || s.waiting >= Math.min(cfg.minGroup, s.freeSlots)) return fit;
  return s.oldestWaitMs >= cfg.maxWaitMs ? fit : 0;
}

/** The error in a configuration, or undefined when it is valid. */
export function admitGroupError(cfg: AdmitGroupConfig): string | undefined {
  if (!Number.isInteger(cfg.minGroup) || cfg.minGroup < 1) return `admit group size must be an integer >= 1, got ${cfg.minGroup}`;
  if (!Number.isFinite(cfg.maxWaitMs) || cfg.maxWaitMs < 0) return `admit group wait must be a number of ms >= 0, got ${cfg.maxWaitMs}`;
  return undefined;
}

const ADMIT_GROUP = /^\s*([0-9]+)\s*(?::\s*([0-9]+(?:\.[0-9]+)?)\s*)?$/;

/** '4:200' -> gather 4 prompts, hold one at most 200 ms; '4' -> 4:0; '' or undefined -> at once. Throws on anything else. */
export function parseAdmitGroup(text: string | undefined): AdmitGroupConfig {
  if (text === undefined || text.trim() === '') return ADMIT_AT_ONCE;
  const m = ADMIT_GROUP.exec(text);
  if (m === null) throw new Error(`admit group must be SIZE:MS like 4:200, got ${JSON.stringify(text)}`);
  const cfg = { minGroup: Number(m[1]), maxWaitMs: m[2] === undefined ? 0 : Number(m[2]) };
  const error = admitGroupError(cfg);
  if (error !== undefined) throw new Error(error);
  return cfg;
}

