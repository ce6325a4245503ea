// Fuzzing the python runtime's stdio JSON-RPC (python/PROTOCOL.md) from TypeScript: random bytes,
// random JSON, JSON-RPC-shaped objects with random methods and params, huge and deeply nested lines,
// written straight to `python -m mlx_runtime.server --model <tiny>`. Whatever comes in, the process
// never exits, stdout carries only JSON objects, and after every batch it still answers `health`;
// at the end it still generates.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON_DIR } from './runtime-process.js';
import { pythonBin, pythonEnv } from '../shared/python.js';
import { ensureTinyModel } from './test-support.js';

const METHODS = ['generate', 'cancel', 'load_model', 'unload_model', 'list_models', 'tokenize', 'embed', 'stats', 'health'] as const;
const RUNS = Number(process.env.RUNTIME_FUZZ_RUNS ?? 60);
const SEED = Number(process.env.RUNTIME_FUZZ_SEED ?? 4242);

const weird = fc.oneof(
  fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.constantFrom(-1, 0, 2 ** 31, 2 ** 63, 1e308, '', 'tiny', '\u0000', '😀', [], {}, [1, 'a'], { a: { b: [] } }),
);
const small = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: weird });
const chat = fc.array(fc.record({ role: fc.oneof(fc.constantFrom('user', 'assistant', 'system'), weird), content: fc.oneof(fc.string({ maxLength: 30 }), weird) }, { requiredKeys: [] }), { maxLength: 3 });
const params = fc.oneof(
  fc.record({
    model: fc.oneof({ weight: 3, arbitrary: fc.constant('tiny') }, { weight: 1, arbitrary: weird }),
    prompt: fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.integer({ min: -5, max: 70_000 }), { maxLength: 8 }), weird),
    messages: fc.oneof(chat, weird),
    max_tokens: small,
    temperature: fc.oneof(fc.constantFrom(0, 0.7), weird),
    top_p: fc.oneof(fc.constantFrom(0.5, 1), weird),
    seed: fc.oneof(fc.integer({ min: 0, max: 1000 }), weird),
    stop: fc.oneof(fc.array(fc.string({ maxLength: 4 }), { maxLength: 20 }), weird),
    session_id: fc.oneof(fc.constantFrom('s1', 's2'), weird),
    request_id: fc.oneof(fc.constantFrom('r1', 'r2', 'r3'), weird),
    stream: weird,
    // never 'tiny': the fuzz must not unload the model the final check generates with
    name: fc.oneof(fc.constantFrom('other', 'x'), fc.string({ maxLength: 6 }).filter((s) => s !== 'tiny')),
    path: fc.oneof(fc.constantFrom('/nonexistent', '/tmp', '', '.'), weird),
    input: fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), weird),
    text: fc.oneof(fc.string({ maxLength: 20 }), weird),
    fault: weird,
  }, { requiredKeys: [] }),
  weird,
);
const rpc = fc.record({
  jsonrpc: fc.oneof({ weight: 6, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: weird }),
  id: fc.oneof(fc.integer({ min: 0, max: 1e6 }), fc.string({ maxLength: 6 }), fc.constant(null), weird),
  method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: weird }),
  params,
}, { requiredKeys: [] }).map((o) => {
  // never unload the model the final check generates with (by `name` or `model`)
  const p = o.params as Record<string, unknown> | undefined;
  if (o.method === 'unload_model' && typeof p === 'object' && p !== null && (p.name === 'tiny' || p.model === 'tiny' || !('name' in p))) return { ...o, params: { name: 'other' } };
  return o;
});

/** One stdin line (without its newline), as bytes. */
const line = fc.oneof(
  { weight: 6, arbitrary: rpc.map((o) => Buffer.from(JSON.stringify(o))) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(s.replace(/[\n\r]/g, ' '))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b.filter((x) => x !== 0x0a && x !== 0x0d))) },
  { weight: 1, arbitrary: fc.constantFrom(
    Buffer.from('['.repeat(100_000)), Buffer.from('{"a":'.repeat(50_000)), Buffer.from(`"${'x'.repeat(300_000)}"`),
    Buffer.from('{"jsonrpc":"2.0","id":1,"method":"generate","params":{"prompt":"hi","max_tokens":1e400}}'),
    Buffer.from('{"jsonrpc":"2.0","id":2,"method":"generate","params":{"prompt":"hi","max_tokens":NaN}}'),
    Buffer.from('{"jsonrpc":"2.0","id":3,"method":"cancel","params":{"request_id":"r1"}}'),
    Buffer.from('[{"jsonrpc":"2.0","id":4,"method":"health"}]'),
  ) },
);

interface Runtime {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  badLines: string[];
  exited: boolean;
}

function startRuntime(model: string): Runtime {
  const child = spawn(pythonBin(), ['-m', 'mlx_runtime.server', '--model', model, '--name', 'tiny', '--max-sequences', '16'], {
    cwd: PYTHON_DIR, env: { ...pythonEnv(), OPENBLAS_NUM_THREADS: '1' }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  const rt: Runtime = { child, lines: [], badLines: [], exited: false };
  // never leave a runtime behind, even when the test process is torn down before afterAll
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      try {
        const v: unknown = JSON.parse(p);
        if (typeof v !== 'object' || v === null || Array.isArray(v)) rt.badLines.push(p);
        else rt.lines.push(p);
      } catch {
        rt.badLines.push(p);
      }
    }
  });
  child.stderr.resume();
  child.stdin.on('error', () => undefined);
  child.once('exit', () => (rt.exited = true));
  return rt;
}

let probeSeq = 0;
/** Sends `health` with a fresh id and waits for its answer. */
async function answersHealth(rt: Runtime, timeoutMs = 60_000): Promise<boolean> {
  const id = `probe-${probeSeq++}`;
  rt.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method: 'health' })}\n`);
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && !rt.exited) {
    if (rt.lines.some((l) => l.includes(`"${id}"`) && l.includes('"result"'))) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe('python runtime stdio fuzz', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = startRuntime(ensureTinyModel());
    expect(await answersHealth(rt, 50_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    if (rt === undefined || rt.exited) return;
    rt.child.stdin.end();
    const t = setTimeout(() => rt.child.kill('SIGKILL'), 5_000);
    await new Promise((r) => rt.child.once('exit', r));
    clearTimeout(t);
  }, 30_000);

  it('survives random lines and still answers health after every batch', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 12 }), async (batch) => {
        for (const b of batch) rt.child.stdin.write(Buffer.concat([b, Buffer.from('\n')]));
        const ok = await answersHealth(rt);
        return ok && !rt.exited && rt.badLines.length === 0;
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    expect(rt.exited).toBe(false);
    expect(rt.badLines).toEqual([]);
  }, 90_000);

  it('still generates afterwards', async () => {
    rt.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 'final', method: 'generate', params: { model: 'tiny', prompt: 'Hello', max_tokens: 4, temperature: 0, request_id: 'final-req' } })}\n`);
    const end = Date.now() + 60_000;
    type Answer = { id?: unknown; error?: unknown; result?: { usage?: { completion_tokens?: number } } };
    let result: Answer | undefined;
    while (Date.now() < end && result === undefined) {
      for (const l of rt.lines) {
        const m = JSON.parse(l) as Answer;
        if (m.id === 'final' && (m.result !== undefined || m.error !== undefined)) result = m;
      }
      if (result === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    expect(result?.result?.usage?.completion_tokens, JSON.stringify(result)).toBeGreaterThan(0);
  }, 60_000);
});
