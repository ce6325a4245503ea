// `npm run calibrate:server [-- --size tiny|small|gpu-1b|gpu-8b --out FILE]`: measures the baseline,
// mlx_lm.server as shipped (started as the live runs start it, scenarios/live/servers.ts), through its
// HTTP API, streamed, and writes a `local` profile (sim/profiles/local.ts) for the baseline side of
// `scenarios/sim-vs-live.ts --baseline-profile`. Timed on the client, so the profile holds what the
// runtime's calibration cannot: the server's own time between steps (one Python thread detokenizes,
// runs the stop/tool state machine and queues every token, takes in requests with the chat template
// and tokenizer, under the GIL with its HTTP handler threads), and cuDNN attention as it ships (a graph
// built per new prefill shape on CUDA).
//   decode:  B concurrent streams (B = 1…32), short and long prompts, greedy: each stream's mean gap
//            between content chunks after its first 4 is one step at batch B (the median over streams);
//            fitted as calibrate.ts does (stepMs = a + b·B + c·B·ctx/1000). Again at temperature 0.7 for
//            the short prompts: sampledRowMs (fitSampledRow).
//   prefill: lone streams of new lengths each time, max_tokens 1: TTFT = o + n ÷ rate (requestOverheadMs = o).
//   join:    B streams decoding; k prompts (k = 1, 4) sent at once, of new lengths (joinPromptTokens); the
//            first background stream's chunk gaps while they join, less its quiet gap, offline after the
//            run (the same accounting as calibrate-join.ts), fitted by fitJoin.
// Default output: reports/out/calibration/local-<size>-mlx-lm-server.json (git-ignored).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { streamChat, type ChatOutcome } from '../live/load/client.js';
import { textOfTokens } from '../live/load/text.js';
import { isModelSize, MODEL_SIZES } from '../live/shared/model.js';
import { freePort, ProcessSet } from '../live/shared/processes.js';
import { LOCAL_PROFILE_FORMAT, parseLocalProfile, type LocalProfile } from '../sim/profiles/local.js';
import { fitJoin, joinPromptTokens, median, type JoinSample } from './calibrate-join.js';
import { fitSampledRow, fitStep, linearFit, SAMPLED_TEMPERATURE, type Sample } from './calibrate.js';
import { profilePathFor } from './live/compare.js';
import { ensureModel, startBaseline } from './live/servers.js';
import { round3 } from '../reports/format.js';

const HELP = `usage: npm run calibrate:server -- [--size ${MODEL_SIZES.join('|')}] [--out FILE]
Measures mlx_lm.server as shipped (the baseline of the live runs) over HTTP, streamed, and writes a
local profile (default reports/out/calibration/local-<size>-mlx-lm-server.json) for
scenarios/sim-vs-live.ts --baseline-profile.`;

/**
 * The mean gap between a stream's content chunks after its first `skip` (one decode step). The mean, not
 * the median: the server's handler threads flush several tokens at once when they fall behind, so the
 * gaps are bursts and near-zeros whose median means nothing, while their sum is the stream's time.
 */
export function streamStepMs(chunkMs: readonly number[], skip = 4): number | undefined {
  const n = chunkMs.length - 1 - skip;
  return n < 2 ? undefined : (chunkMs[chunkMs.length - 1]! - chunkMs[skip]!) / n;
}

/**
 * A join's extra time on a background stream's chunk times: the gaps from the first chunk after the
 * join was sent until the first that starts after it was answered (plus one quiet gap), less as many
 * quiet gaps (the mean of the QUIET_GAPS before it: chunks come in bursts, see streamStepMs). The
 * accounting of calibrate-join.ts measureJoins, offline.
 */
export function joinExtraMs(stamps: readonly number[], tInsert: number, tDone: number): { extraMs: number; quietStepMs: number; steps: number } | undefined {
  const from = stamps.findIndex((t) => t > tInsert);
  if (from < QUIET_GAPS + 1) return undefined;
  const quiet = stamps.slice(from - QUIET_GAPS - 1, from);
  const quietStepMs = (quiet[quiet.length - 1]! - quiet[0]!) / (quiet.length - 1);
  const gaps: number[] = [];
  for (let i = from; i < stamps.length; i++) {
    if (stamps[i - 1]! > tDone + quietStepMs) break;
    gaps.push(stamps[i]! - stamps[i - 1]!);
  }
  if (gaps.length === 0) return undefined;
  return { extraMs: Math.max(0, gaps.reduce((a, g) => a + g, 0) - gaps.length * quietStepMs), quietStepMs, steps: gaps.length };
}

/** Chunk gaps before a join that give its quiet step (a mean over bursts needs a long window). */
export const QUIET_GAPS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function main(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({ args: argv, options: { size: { type: 'string', default: 'small' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (o.help === true) {
    console.log(HELP);
    return 0;
  }
  const size = o.size;
  if (!isModelSize(size)) {
    console.error(`--size must be one of ${MODEL_SIZES.join(', ')}, got ${size}\n\n${HELP}`);
    return 2;
  }
  const out = o.out ?? profilePathFor(size).replace(/\.json$/, '-mlx-lm-server.json');
  const log = (m: string) => console.error(`[calibrate:server] ${m}`);
  const modelDir = ensureModel(size, log);
  const ps = new ProcessSet();
  const stop = () => void ps.stopAll();
  process.once('SIGINT', stop);
  try {
    const server = await startBaseline(ps, { modelDir, port: await freePort() });
    const url = `${server.baseUrl}/v1/chat/completions`;
    const onGpu = /gpu/i.test(server.device);
    let seq = 0;
    const chat = (promptTokens: number, maxTokens: number, key: string, temperature = 0, signal?: AbortSignal): Promise<ChatOutcome> =>
      streamChat({ url, model: server.model, messages: [{ role: 'user', content: textOfTokens(key, seq++, promptTokens) }], maxTokens, temperature, timeoutMs: 600_000, ...(signal !== undefined && { signal }) });
    const must = (r: ChatOutcome): ChatOutcome => {
      if (r.kind !== 'ok') throw new Error(`mlx_lm.server answered ${r.code ?? r.kind}: ${r.error ?? ''}`);
      return r;
    };
    log(`mlx_lm.server (${size}) on ${server.device}; warming up`);
    await Promise.all([0, 1, 2].map((i) => chat(32, 4, `warm-${i}`).then(must)));

    // Prefill: lone requests, a new length each time; TTFT = o + n ÷ rate.
    const pre: { n: number; ms: number }[] = [];
    const lengths = onGpu ? [512, 2048, 4096, 8192] : [64, 128, 256, 512];
    for (const n of lengths) {
      const reps: { n: number; ms: number }[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const r = must(await chat(n + 16 * rep, 1, `prefill-${n}-${rep}`));
        reps.push({ n: r.promptTokens ?? n + 16 * rep, ms: (r.firstTokenMs ?? r.endMs) - r.sentMs });
      }
      pre.push(reps.sort((a, b) => a.ms - b.ms)[1]!);
    }
    let pf = linearFit(pre.map((p) => [p.n]), pre.map((p) => p.ms));
    if (pf.intercept < 0) pf = { intercept: 0, coef: [pre.reduce((a, p) => a + p.ms, 0) / pre.reduce((a, p) => a + p.n, 0)] };
    if (!(pf.coef[0]! > 0)) throw new Error(`TTFT does not grow with the prompt over ${lengths.join(', ')} tokens: no rate; no profile written`);
    const msPerToken = pf.coef[0]!;
    log(`prefill: ${(1000 / msPerToken).toFixed(0)} tok/s, TTFT intercept ${pf.intercept.toFixed(1)} ms`);

    // Decode: B concurrent streams; greedy at two contexts, sampled at the short one.
    const decodeTokens = 64;
    const batches = [1, 2, 4, 8, 16, 32];
    const longPrompt = onGpu ? 2048 : 384;
    const measure = async (prompt: number, b: number, temperature: number): Promise<Sample | undefined> => {
      const rs = (await Promise.all(Array.from({ length: b }, (_, i) => chat(prompt, decodeTokens, `decode-${prompt}-${b}-${temperature}-${i}`, temperature)))).map(must);
      const steps = rs.map((r) => streamStepMs(r.chunkMs)).filter((x): x is number => x !== undefined);
      if (steps.length === 0) return undefined;
      const ctx = rs.reduce((a, r) => a + (r.promptTokens ?? prompt) + r.completionTokens / 2, 0) / rs.length;
      return { batch: b, contextTokens: ctx, stepMs: median(steps) };
    };
    const samples: Sample[] = [];
    const sampled: Sample[] = [];
    for (const prompt of [32, longPrompt]) {
      for (const b of batches) {
        if (prompt > 32 && b > (onGpu ? 32 : 8)) continue;
        const s = await measure(prompt, b, 0);
        if (s === undefined) continue;
        samples.push(s);
        log(`decode: batch ${b}, context ${s.contextTokens.toFixed(0)}: ${s.stepMs.toFixed(2)} ms/step`);
        if (prompt === 32 && b >= 2) {
          const t = await measure(prompt, b, SAMPLED_TEMPERATURE);
          if (t !== undefined) sampled.push(t);
          if (t !== undefined) log(`decode, sampled at ${SAMPLED_TEMPERATURE}: batch ${b}: ${t.stepMs.toFixed(2)} ms/step`);
        }
      }
    }
    const step = fitStep(samples);
    const sampledRowMs = fitSampledRow(samples.filter((s) => s.contextTokens < longPrompt / 2), sampled);

    // Joins: prompts sent into a busy batch, measured offline on a background stream's chunk times.
    const join = { batch: onGpu ? 28 : 8, contextTokens: onGpu ? 1024 : 128, promptTokens: onGpu ? 512 : 64, groups: [1, 4], reps: 3 };
    const quietMs = step.a + step.b * join.batch + (step.c * join.batch * join.contextTokens) / 1000;
    const cut = new AbortController();
    const background = Array.from({ length: join.batch }, (_, i) => chat(join.contextTokens, 4000, `join-bg-${i}`, 0, cut.signal));
    const marks: { joiners: number; tInsert: number; tDone: number }[] = [];
    await sleep(Math.max(1000, 3 * join.batch * join.contextTokens * msPerToken + 30 * quietMs));
    for (let rep = 0; rep < join.reps; rep++) {
      for (const joiners of join.groups) {
        await sleep(Math.max(200, 3 * QUIET_GAPS * quietMs));
        const tInsert = performance.now();
        await Promise.all(Array.from({ length: joiners }, () => chat(joinPromptTokens(join.promptTokens, seq), 1, 'join').then(must)));
        marks.push({ joiners, tInsert, tDone: performance.now() });
      }
    }
    await sleep(Math.max(100, 12 * quietMs));
    cut.abort();
    const stamps = (await background[0]!).chunkMs;
    await Promise.all(background);
    const joins: JoinSample[] = [];
    for (const m of marks) {
      const x = joinExtraMs(stamps, m.tInsert, m.tDone);
      if (x === undefined) continue;
      joins.push({ joiners: m.joiners, extraMs: x.extraMs, quietStepMs: x.quietStepMs });
      log(`join: ${m.joiners} prompt(s) of ~${join.promptTokens} tokens into ${join.batch} decoding: +${x.extraMs.toFixed(1)} ms over ${x.steps} step(s) (quiet step ${x.quietStepMs.toFixed(2)} ms)`);
    }
    const joinCost = fitJoin(joins, join.promptTokens * msPerToken);

    const profile: LocalProfile = {
      format: LOCAL_PROFILE_FORMAT,
      source: `npm run calibrate:server on ${hostname()} (${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}; MLX ${server.device}), ${new Date().toISOString()}, mlx_lm.server as shipped, timed on the client`,
      hardware: { name: `${hostname()}-${onGpu ? 'gpu' : 'cpu'}`, memoryBytes: totalmem() },
      // mlx_lm.server reports no model size or KV geometry: the runtime's calibration of the same model has them;
      // the simulated baseline reserves no KV (the direct engine is ungoverned), so these only need to be plausible.
      model: { id: `mlx-serving-${size}`, modelBytes: 1, kvBytesPerToken: 1, contextTokensMax: 1 << 20 },
      prefillTokensPerSec: round3(1000 / msPerToken),
      decodeStepMs: { a: round3(step.a), bPerSequence: round3(step.b), cPerKiloContextToken: round3(step.c) },
      requestOverheadMs: round3(Math.max(0, pf.intercept)),
      ...(joins.length > 0 && { joinCost: { perStepMs: round3(joinCost.perStepMs), perPromptMs: round3(joinCost.perPromptMs) } }),
      ...(sampled.length > 0 && { sampledRowMs: round3(sampledRowMs) }),
    };
    parseLocalProfile(profile, out);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ ...profile, samples: { prefill: pre, decode: samples, sampledDecode: sampled, join: joins } }, null, 2)}\n`);
    log(`decode step = ${step.a.toFixed(2)} + ${step.b.toFixed(3)}·batch + ${step.c.toFixed(4)}·contextTokens/1000 ms; sampled +${sampledRowMs.toFixed(3)} ms/row; join ${joinCost.perStepMs.toFixed(1)} + ${joinCost.perPromptMs.toFixed(1)}·k ms`);
    console.log(out);
    return 0;
  } finally {
    process.off('SIGINT', stop);
    await ps.stopAll();
  }
}


if (process.argv[1]?.endsWith('calibrate-server.ts') === true) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : e);
      process.exit(3);
    },
  );
}
