// `npm run calibrate [-- --size tiny|small|gpu-1b|gpu-8b --out FILE --python PATH]`: measures this machine's MLX runtime through
// the real python runtime (JSON-RPC on stdio, the same process the worker nodes run) and writes a
// `local` profile (sim/profiles/local.ts) that the simulator can use (`--mode both`).
// Default output: reports/out/calibration/local-<size>.json (git-ignored).
//   prefill: prompts of ~64…512 tokens (on a GPU 512…8192: shorter ones are all per-request overhead
//            there), max_tokens 1, no cache; fit prefill_ms = o + n ÷ rate. A fit whose time does not
//            grow with the length fails the calibration (no rate can be read from it).
//   decode:  B concurrent sequences (B = 1…maxSequences, up to 128) with short and long contexts (long:
//            384 tokens up to B = 8; on a GPU 2,048 tokens up to B = 32); each
//            request's decode_ms ÷ (tokens − 1) is one step at batch ≈ B; least squares fit of
//            stepMs = a + b·B + c·(B × mean context) ÷ 1000 (b, c ≥ 0).
//   join:    prompts joining a busy decode batch (scenarios/calibrate-join.ts): the extra step time
//            beyond their prefill, fitted as perStepMs + perPromptMs·k (`joinCost`, charged by the
//            simulated worker in place of the per-request overhead in the steps where prompts join).
//   sampled: the decode at the short context again at temperature 0.7 (the live workload's; each request
//            then has a sampler of its own, and mlx-lm's GenerationBatch samples row by row instead of
//            one argmax call for the batch): sampledRowMs = the slope of (sampled step − greedy step)
//            against the batch size, through the origin, ≥ 0 (fitSampledRow). The greedy decode above is what
//            the step fit describes; the simulator adds sampledRowMs per row while a sampled request decodes.
//   answerReuse: sessions of two turns through the chat template (messages, as the worker node sends
//            them), at temperature 0.7: the share of the first turn's answer that the second turn finds
//            in the prefix cache, (cached − first prompt) ÷ answer tokens in [0, 1], the mean over sessions
//            (answerReuseOf). A random-weights model's sampled answer rarely re-tokenizes as generated.
//   requestOverheadMs: the prefill fit's intercept + the median queue time of a lone request.
//   --cudnn-attention mlx: the runtime with MLX's cuDNN attention on (MLX_RUNTIME_CUDNN_ATTENTION=mlx),
//            as mlx_lm.server ships; the profile for sim-vs-live's --baseline-profile (default out
//            reports/out/calibration/local-<size>-cudnn.json). Prefill and join prompts take a new length
//            each time, so a cuDNN graph build per new shape is measured, not hidden by the graph cache.
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, totalmem, cpus } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { textOfTokens } from '../live/load/text.js';
import type { ChatMessageParam, GenerateResult } from '../live/worker/runtime-client.js';
import { RuntimeProcess } from '../live/worker/runtime-process.js';
import { LOCAL_PROFILE_FORMAT, parseLocalProfile, type LocalProfile } from '../sim/profiles/local.js';
import { profilePathFor } from './live/compare.js';
import { fitJoin, measureJoins, median } from './calibrate-join.js';
import { ensureModel } from './live/servers.js';
import { isModelSize, MODEL_SIZES } from '../live/shared/model.js';
import { PYTHON_ENV_VAR } from '../live/shared/python.js';
import { round3 } from '../reports/format.js';

const HELP = `usage: npm run calibrate -- [--size ${MODEL_SIZES.join('|')}] [--out FILE] [--max-sequences N] [--python PATH] [--cudnn-attention mlx|off]

Measures prefill rate, decode step time (by batch size and context) and per-request overhead of
the python MLX runtime on this machine, and writes a local profile (default
reports/out/calibration/local-<size>.json) for \`npm run scenario -- NAME --mode both\`.
--python (or ${PYTHON_ENV_VAR}) runs the runtime with that interpreter instead of python/.venv; the
profile's hardware is named after the MLX device the runtime reports (<host>-gpu or <host>-cpu).
--cudnn-attention mlx runs the runtime with MLX's cuDNN attention on, as mlx_lm.server ships (a
baseline profile for scenarios/sim-vs-live.ts --baseline-profile; default out local-<size>-cudnn.json).`;

export interface Sample {
  readonly batch: number;
  readonly contextTokens: number;
  readonly stepMs: number;
}

export async function main(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({ args: argv, options: { size: { type: 'string', default: 'small' }, out: { type: 'string' }, 'max-sequences': { type: 'string', default: '32' }, python: { type: 'string' }, 'cudnn-attention': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (o.help === true) {
    console.log(HELP);
    return 0;
  }
  const size = o.size;
  if (!isModelSize(size)) {
    console.error(`--size must be one of ${MODEL_SIZES.join(', ')}, got ${size}\n\n${HELP}`);
    return 2;
  }
  if (o.python !== undefined) process.env[PYTHON_ENV_VAR] = o.python;
  const maxSeq = Number(o['max-sequences']);
  if (!Number.isInteger(maxSeq) || maxSeq < 1 || maxSeq > 256) {
    console.error(`--max-sequences must be an integer in [1, 256]`);
    return 2;
  }
  const cudnn = o['cudnn-attention'];
  if (cudnn !== undefined && cudnn !== 'mlx' && cudnn !== 'off') {
    console.error(`--cudnn-attention must be mlx (on, as mlx_lm.server ships) or off (the runtime's default), got ${cudnn}\n\n${HELP}`);
    return 2;
  }
  if (cudnn === 'mlx') process.env.MLX_RUNTIME_CUDNN_ATTENTION = 'mlx';
  else if (cudnn === 'off') delete process.env.MLX_RUNTIME_CUDNN_ATTENTION;
  const out = o.out ?? (cudnn === 'mlx' ? profilePathFor(size).replace(/\.json$/, '-cudnn.json') : profilePathFor(size));
  const log = (m: string) => console.error(`[calibrate] ${m}`);
  const modelDir = ensureModel(size, log);
  const rt = new RuntimeProcess({ modelPath: modelDir, modelId: size, maxSequences: maxSeq, readyTimeoutMs: 180_000 });
  const stop = () => void rt.stop();
  process.once('SIGINT', stop);
  try {
    await rt.ready();
    const device = rt.health?.device ?? 'unknown device';
    const onGpu = /gpu/i.test(device);
    const info = (await rt.client.call('list_models', {})).models[0]!;
    let seq = 0;
    const gen = (promptTokens: number, maxTokens: number, key: string, temperature = 0): Promise<GenerateResult> =>
      rt.client.generate({ request_id: `cal-${seq++}`, prompt: textOfTokens(key, seq, promptTokens), max_tokens: maxTokens, temperature, stream: false }, () => undefined, { timeoutMs: 600_000 }).result;
    log(`model ${size} on ${device}: ${(info.model_bytes / 1e6).toFixed(1)} MB, ${info.kv_bytes_per_token} KV bytes/token; warming up`);
    await gen(32, 4, 'warm');
    await Promise.all([gen(32, 4, 'warm2'), gen(32, 4, 'warm3')]);

    // Prefill.
    // The median of 3 runs per length (a shared CPU is noisy); a negative intercept means noise:
    // then the rate is fitted through the origin.
    const pre: { n: number; ms: number; queueMs: number }[] = [];
    const prefillLengths = onGpu ? [512, 2048, 4096, 8192] : [64, 128, 256, 512];
    for (const n of prefillLengths) {
      const reps: { n: number; ms: number; queueMs: number }[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const r = await gen(n + 16 * rep, 1, `prefill-${n}-${rep}`); // a new length (shape) each time, as live prompts come
        reps.push({ n: r.usage.prefill_tokens, ms: r.timings.prefill_ms, queueMs: r.timings.queue_ms });
      }
      pre.push(reps.sort((a, b) => a.ms - b.ms)[1]!);
    }
    let pf = linearFit(pre.map((p) => [p.n]), pre.map((p) => p.ms));
    if (pf.intercept < 0) pf = { intercept: 0, coef: [pre.reduce((a, p) => a + p.ms, 0) / pre.reduce((a, p) => a + p.n, 0)] };
    if (!(pf.coef[0]! > 0)) {
      throw new Error(`prefill time does not grow with the prompt length over ${prefillLengths.join(', ')} tokens (${pre.map((p) => `${p.n}: ${p.ms.toFixed(1)} ms`).join(', ')}): per-request overhead hides the rate; no profile written`);
    }
    const msPerToken = pf.coef[0]!;
    const prefillTokensPerSec = 1000 / msPerToken;
    log(`prefill: ${prefillTokensPerSec.toFixed(0)} tok/s (intercept ${pf.intercept.toFixed(1)} ms)`);

    // Decode.
    const samples: Sample[] = [];
    const decodeTokens = 24;
    const batches = [1, 2, 4, 8, 16, 32, 64, 128].filter((b) => b <= maxSeq);
    const longPrompt = onGpu ? 2048 : 384;
    for (const prompt of [32, longPrompt]) {
      for (const b of batches) {
        if (prompt > 32 && b > (onGpu ? 32 : 8)) continue; // long contexts at smaller batches only (time)
        const rs = await Promise.all(Array.from({ length: b }, (_, i) => gen(prompt, decodeTokens, `decode-${prompt}-${b}-${i}`)));
        const ctx = rs.reduce((a, r) => a + r.usage.prompt_tokens + r.usage.completion_tokens / 2, 0) / rs.length;
        const steps = rs.map((r) => r.timings.decode_ms / Math.max(1, r.usage.completion_tokens - 1));
        const stepMs = median(steps);
        samples.push({ batch: b, contextTokens: ctx, stepMs });
        log(`decode: batch ${b}, context ${ctx.toFixed(0)}: ${stepMs.toFixed(2)} ms/step (${((b * 1000) / stepMs).toFixed(1)} tok/s)`);
      }
    }
    const step = fitStep(samples);
    // Sampled decode: the same short-context batches at the live workload's temperature.
    const sampledSamples: Sample[] = [];
    for (const b of batches.filter((x) => x >= (onGpu ? 4 : 2))) {
      const rs = await Promise.all(Array.from({ length: b }, (_, i) => gen(32, decodeTokens, `sampled-${b}-${i}`, SAMPLED_TEMPERATURE)));
      const ctx = rs.reduce((a, r) => a + r.usage.prompt_tokens + r.usage.completion_tokens / 2, 0) / rs.length;
      const stepMs = median(rs.map((r) => r.timings.decode_ms / Math.max(1, r.usage.completion_tokens - 1)));
      sampledSamples.push({ batch: b, contextTokens: ctx, stepMs });
      log(`decode, sampled at temperature ${SAMPLED_TEMPERATURE}: batch ${b}, context ${ctx.toFixed(0)}: ${stepMs.toFixed(2)} ms/step`);
    }
    const sampledRowMs = fitSampledRow(samples.filter((s) => s.contextTokens < longPrompt / 2), sampledSamples);
    log(`sampled decode: ${sampledRowMs.toFixed(3)} ms more per row than greedy`);
    // Answer reuse: a follow-up turn of the same session, as the live workload's sessions send them.
    const reuseSamples: ReuseSample[] = [];
    const turnTokens = onGpu ? 256 : 48;
    for (let i = 0; i < 6; i++) {
      const session = `cal-reuse-${i}`;
      const ask = (messages: ChatMessageParam[], maxTokens: number) =>
        rt.client.generate({ request_id: `cal-${seq++}`, messages, max_tokens: maxTokens, temperature: SAMPLED_TEMPERATURE, session_id: session }, () => undefined, { timeoutMs: 600_000 }).result;
      const first: ChatMessageParam[] = [{ role: 'user', content: textOfTokens('reuse', i, turnTokens) }];
      const t1 = await ask(first, 32);
      const t2 = await ask([...first, { role: 'assistant', content: t1.text }, { role: 'user', content: textOfTokens('reuse-next', i, 32) }], 1);
      reuseSamples.push({ firstPromptTokens: t1.usage.prompt_tokens, answerTokens: t1.usage.completion_tokens, cachedTokens: t2.usage.cached_tokens });
    }
    const answerReuse = answerReuseOf(reuseSamples);
    log(`answer reuse: a next turn finds ${(answerReuse * 100).toFixed(0)} % of the previous answer cached (${reuseSamples.map((r) => `${r.cachedTokens}/${r.firstPromptTokens}+${r.answerTokens}`).join(', ')})`);
    const lone = pre.map((p) => p.queueMs);
    const joinContext = onGpu ? 1024 : 128;
    const join = { batch: Math.min(maxSeq - 4, onGpu ? 32 : 8), contextTokens: joinContext, promptTokens: onGpu ? 512 : 64, groups: [1, 4], reps: 3, maxTokens: Math.max(64, info.max_context - joinContext - 64), log };
    const joins = join.batch >= 1 ? await measureJoins(rt.client, join) : [];
    const joinCost = fitJoin(joins, join.promptTokens * msPerToken);
    if (joins.length > 0) log(`join: a step in which k prompts join costs ${joinCost.perStepMs.toFixed(1)} + ${joinCost.perPromptMs.toFixed(1)}·k ms beyond their prefill`);
    const profile: LocalProfile = {
      format: LOCAL_PROFILE_FORMAT,
      source: `npm run calibrate on ${hostname()} (${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}; MLX ${device}), ${new Date().toISOString()}, python runtime of mlx-serving${process.env.MLX_RUNTIME_CUDNN_ATTENTION === 'mlx' ? ', cuDNN attention on (MLX_RUNTIME_CUDNN_ATTENTION=mlx)' : ''}`,
      hardware: { name: `${hostname()}-${onGpu ? 'gpu' : 'cpu'}`, memoryBytes: totalmem() },
      model: { id: `mlx-serving-${size}`, modelBytes: info.model_bytes, kvBytesPerToken: info.kv_bytes_per_token, contextTokensMax: info.max_context },
      prefillTokensPerSec: round3(prefillTokensPerSec),
      decodeStepMs: { a: round3(step.a), bPerSequence: round3(step.b), cPerKiloContextToken: round3(step.c) },
      requestOverheadMs: round3(Math.max(0, pf.intercept) + median(lone)),
      loadMs: round3(info.load_ms),
      ...(joins.length > 0 && { joinCost: { perStepMs: round3(joinCost.perStepMs), perPromptMs: round3(joinCost.perPromptMs) } }),
      ...(sampledSamples.length > 0 && { sampledRowMs: round3(sampledRowMs) }),
      ...(reuseSamples.length > 0 && { answerReuse: round3(answerReuse) }),
    };
    parseLocalProfile(profile, out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ ...profile, samples: { prefill: pre, decode: samples, sampledDecode: sampledSamples, join: joins, answerReuse: reuseSamples } }, null, 2)}\n`);
    log(`decode step = ${step.a.toFixed(2)} + ${step.b.toFixed(3)}·batch + ${step.c.toFixed(4)}·contextTokens/1000 ms`);
    console.log(out);
    return 0;
  } finally {
    process.off('SIGINT', stop);
    await rt.stop();
  }
}

/** Least squares y = intercept + Σ coef_i·x_i (normal equations, Gaussian elimination). */
export function linearFit(xs: readonly (readonly number[])[], ys: readonly number[]): { intercept: number; coef: number[] } {
  const k = (xs[0]?.length ?? 0) + 1;
  const A = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (let r = 0; r < ys.length; r++) {
    const row = [1, ...xs[r]!];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) A[i]![j]! += row[i]! * row[j]!;
      A[i]![k]! += row[i]! * ys[r]!;
    }
  }
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
    [A[c], A[p]] = [A[p]!, A[c]!];
    const d = A[c]![c]!;
    if (Math.abs(d) < 1e-12) continue;
    for (let j = c; j <= k; j++) A[c]![j]! /= d;
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r]![c]!;
      for (let j = c; j <= k; j++) A[r]![j]! -= f * A[c]![j]!;
    }
  }
  const sol = A.map((row) => row[k]!);
  return { intercept: sol[0]!, coef: sol.slice(1) };
}

/** stepMs = a + b·B + c·(B·ctx)/1000 with a > 0, b, c ≥ 0 (a dropped term is refitted without it). */
export function fitStep(s: readonly Sample[]): { a: number; b: number; c: number } {
  const y = s.map((x) => x.stepMs);
  const full = linearFit(s.map((x) => [x.batch, (x.batch * x.contextTokens) / 1000]), y);
  let [b, c] = full.coef as [number, number];
  let a = full.intercept;
  if (b < 0 || c < 0) {
    const keepB = b >= c;
    const one = linearFit(s.map((x) => [keepB ? x.batch : (x.batch * x.contextTokens) / 1000]), y);
    a = one.intercept;
    b = keepB ? Math.max(0, one.coef[0]!) : 0;
    c = keepB ? 0 : Math.max(0, one.coef[0]!);
  }
  if (a <= 0) a = Math.max(0.01, Math.min(...y) / 2);
  return { a, b, c };
}

/** The live workload's temperature (sim/workload: 0.7 unless a request repeats a hot prompt). */
export const SAMPLED_TEMPERATURE = 0.7;

/**
 * The extra decode cost per row of sampling row by row: the least-squares slope through the origin of
 * (sampled step − greedy step) against the batch size, over the sizes measured both ways (the large
 * batches weigh most: at small ones a shared CPU's noise is as large as the difference); never
 * negative, 0 when nothing pairs up.
 */
export function fitSampledRow(greedy: readonly Sample[], sampled: readonly Sample[]): number {
  let sxy = 0;
  let sxx = 0;
  for (const s of sampled) {
    const g = greedy.find((x) => x.batch === s.batch);
    if (g === undefined || s.batch <= 0) continue;
    sxy += s.batch * (s.stepMs - g.stepMs);
    sxx += s.batch * s.batch;
  }
  return sxx === 0 ? 0 : Math.max(0, sxy / sxx);
}

export interface ReuseSample {
  readonly firstPromptTokens: number;
  readonly answerTokens: number;
  /** The second turn's cached prompt tokens (the runtime's count). */
  readonly cachedTokens: number;
}

/** The mean over sessions of (cached − first prompt) ÷ answer tokens, each clamped to [0, 1]; 1 when nothing was measured. */
export function answerReuseOf(samples: readonly ReuseSample[]): number {
  const shares = samples.filter((s) => s.answerTokens > 0).map((s) => Math.min(1, Math.max(0, (s.cachedTokens - s.firstPromptTokens) / s.answerTokens)));
  return shares.length === 0 ? 1 : shares.reduce((a, x) => a + x, 0) / shares.length;
}


if (process.argv[1]?.endsWith('calibrate.ts') === true) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : e);
      process.exit(3);
    },
  );
}
