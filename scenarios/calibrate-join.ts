// `npm run calibrate`'s join measurement: what a step costs when prompts join a busy decode batch, beyond
// the prefill of their tokens. On an H200 such a step cost ~130 ms more than a decode step, in the
// runtime and in mlx_lm.server alike, for a few hundred new tokens (reports/reference/gpu/README.md,
// fifth session), where a lone prompt's prefill fit says ~50 ms + tokens ÷ 100 k/s. The simulator
// charges the fitted cost per step in which prompts join (sim/worker/worker.ts, LatencyModel.joinCost).
//
// Method: `batch` sequences decode (prompt `contextTokens`, a long answer, streamed); the gaps between
// one of them's token notifications are its steps. Then, `reps` times per group size k, k prompts of
// `promptTokens` are sent at once (max_tokens 1) and awaited: the probe's gaps that end between the
// insert and one step after the answers, less as many median steps of the quiet window before, are
// the join's extra time. Less the k prompts' prefill at the measured rate, fitted over k:
//   extra(k) = perStepMs + perPromptMs · k.
import { performance } from 'node:perf_hooks';
import { textOfTokens } from '../live/load/text.js';
import type { GenerateResult, RuntimeClient } from '../live/worker/runtime-client.js';

export interface JoinSample {
  readonly joiners: number;
  /** The probe's extra ms over its median quiet step while the joiners were inserted and prefilled. */
  readonly extraMs: number;
  readonly quietStepMs: number;
}

export interface JoinOptions {
  readonly batch: number;
  readonly contextTokens: number;
  readonly promptTokens: number;
  readonly groups: readonly number[];
  readonly reps: number;
  /** The background sequences' max_tokens: room left in the model's context (they are cancelled at the end). */
  readonly maxTokens: number;
  readonly log: (m: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The lower median (0 of nothing): calibrate.ts's, shared. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!;
}

/**
 * The length of the seq-th joining prompt: promptTokens ± 32, a new length each time, as live prompts
 * come. With MLX's cuDNN attention on (mlx_lm.server as shipped) a prefill of a new shape builds a cuDNN
 * graph (~65 ms on an H200, reports/reference/gpu/README.md, sixth session); one repeated length would
 * hit the graph cache from the second join on and hide that cost. Without cuDNN the length makes no difference.
 */
export function joinPromptTokens(promptTokens: number, seq: number): number {
  return Math.max(1, promptTokens + ((seq * 37) % 64) - 32);
}

export async function measureJoins(client: RuntimeClient, o: JoinOptions): Promise<JoinSample[]> {
  const stamps: number[] = [];
  const ids = Array.from({ length: o.batch }, (_, i) => `join-bg-${i}`);
  const first = new Set<string>();
  let ended: string | undefined;
  const background = ids.map((id, i) =>
    client.generate({ request_id: id, prompt: textOfTokens('join-bg', i, o.contextTokens), max_tokens: o.maxTokens, temperature: 0, stream: true }, (t) => {
      first.add(t.request_id);
      if (i === 0) stamps.push(performance.now());
    }, { timeoutMs: 3_600_000 }).result.then(
      (r) => { ended ??= `${id} ended (${r.finish_reason}) before the measurement did`; },
      (e: unknown) => { ended ??= `${id} failed: ${(e as Error).message}`; }));
  const check = () => {
    if (ended !== undefined) throw new Error(`join measurement: ${ended}`);
  };
  const waitSteps = async (n: number) => {
    const target = stamps.length + n;
    while (stamps.length < target) {
      check();
      await sleep(1);
    }
  };
  const samples: JoinSample[] = [];
  try {
    while (first.size < o.batch) {
      check();
      await sleep(1);
    }
    await waitSteps(10);
    let seq = 0;
    for (let rep = 0; rep < o.reps; rep++) {
      for (const joiners of o.groups) {
        await waitSteps(8);
        const quiet = stamps.slice(-7);
        const quietStepMs = median(quiet.slice(1).map((t, i) => t - quiet[i]!));
        const from = stamps.length;
        const tInsert = performance.now();
        await Promise.all(Array.from({ length: joiners }, () =>
          client.generate({ request_id: `join-${seq}`, prompt: textOfTokens('join', seq, joinPromptTokens(o.promptTokens, seq++)), max_tokens: 1, temperature: 0, stream: false }, () => undefined, { timeoutMs: 600_000 }).result as Promise<GenerateResult>));
        const tDone = performance.now();
        await waitSteps(2);
        check();
        const gaps: number[] = [];
        for (let i = Math.max(1, from); i < stamps.length; i++) {
          if (stamps[i]! <= tInsert) continue;
          if (stamps[i - 1]! > tDone + quietStepMs) break;
          gaps.push(stamps[i]! - stamps[i - 1]!);
        }
        const extraMs = gaps.reduce((a, g) => a + g, 0) - gaps.length * quietStepMs;
        samples.push({ joiners, extraMs: Math.max(0, extraMs), quietStepMs });
        o.log(`join: ${joiners} prompt(s) of ${o.promptTokens} tokens into ${o.batch} decoding: +${extraMs.toFixed(1)} ms over ${gaps.length} step(s) (quiet step ${quietStepMs.toFixed(2)} ms)`);
      }
    }
  } finally {
    ended ??= 'cancelled';
    await Promise.all(ids.map((id) => client.call('cancel', { request_id: id }).catch(() => undefined)));
    await Promise.all(background);
  }
  return samples;
}

/** extra(k) − k · promptTokens · msPerPromptToken = perStepMs + perPromptMs · k, least squares over the medians per k; both ≥ 0. */
export function fitJoin(samples: readonly JoinSample[], prefillMsPerPrompt: number): { perStepMs: number; perPromptMs: number } {
  const ks = [...new Set(samples.map((s) => s.joiners))].sort((a, b) => a - b);
  const pts = ks.map((k) => [k, median(samples.filter((s) => s.joiners === k).map((s) => s.extraMs)) - k * prefillMsPerPrompt] as const);
  if (pts.length === 0) return { perStepMs: 0, perPromptMs: 0 };
  if (pts.length === 1) return { perStepMs: Math.max(0, pts[0]![1]), perPromptMs: 0 };
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p[0], 0) / n;
  const my = pts.reduce((a, p) => a + p[1], 0) / n;
  const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  let slope = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / sxx;
  let intercept = my - slope * mx;
  if (slope < 0) {
    slope = 0;
    intercept = my;
  }
  if (intercept < 0) {
    intercept = 0;
    slope = Math.max(0, pts.reduce((a, p) => a + p[0] * p[1], 0) / pts.reduce((a, p) => a + p[0] * p[0], 0));
  }
  return { perStepMs: intercept, perPromptMs: slope };
}
