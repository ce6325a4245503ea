// `npm run bench:core`: figures for the hot paths of core/. Prints a table; asserts nothing.
//   router pick (100 workers), response-cache lookup, coalescer join, one request through the gateway
//   core end to end (arrive → dispatch → tokens → done → complete).
// Aims (issue 2): a routing decision well under 1 µs; a whole request under 10 µs.
import { performance } from 'node:perf_hooks';
import { Coalescer } from '../caching/coalescer.js';
import { fingerprint } from '../caching/fingerprint.js';
import { ResponseStore } from '../caching/response-store.js';
import { DEFAULT_ROUTING } from '../config/defaults.js';
import { resolveGatewayConfig } from '../config/validate.js';
import { GatewayCore } from '../gateway/gateway-core.js';
import { makeRequest, makeStatus, testRng } from '../gateway/test-support.js';
import { createRoutingPolicy } from '../routing/factory.js';
import type { WorkerView } from '../routing/policy.js';

interface Row { name: string; nsPerOp: number; opsPerS: number }
const rows: Row[] = [];

/** Runs fn `ops` times per repetition; reports the median of 7 repetitions (after a warm-up). */
function bench(name: string, ops: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(ops, 20_000); i++) fn(i);
  const samples: number[] = [];
  for (let rep = 0; rep < 7; rep++) {
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) fn(i + rep * ops);
    samples.push(((performance.now() - t0) * 1e6) / ops);
  }
  samples.sort((a, b) => a - b);
  const ns = samples[3]!;
  rows.push({ name, nsPerOp: ns, opsPerS: 1e9 / ns });
}

const workers: WorkerView[] = Array.from({ length: 100 }, (_, i) => ({ id: `w${String(i).padStart(3, '0')}`, inFlight: i % 5, maxConcurrent: 6, kvUsedFraction: 0.3, slot: i }));
const ids = workers.map((w) => w.id);
const reqs = Array.from({ length: 1024 }, (_, i) => makeRequest(`r${i}`, { sessionId: `s${i}`, prefixBlocks: [i % 64, (i % 64) * 7 + 1] }));
// The gateway core passes an id index of the candidates (RoutingContext.candidatesById); so does the bench.
const ctx = { nowMs: 0, rng: testRng(7), allWorkerIds: ids, candidatesById: new Map(workers.map((w) => [w.id, w])) };
for (const type of ['session-affinity', 'least-loaded', 'power-of-two', 'latency-aware', 'prefix-aware', 'round-robin'] as const) {
  const policy = createRoutingPolicy(DEFAULT_ROUTING[type]);
  if (type === 'prefix-aware') for (let i = 0; i < 1024; i++) policy.onDispatch?.(workers[i % 100]!.id, reqs[i]!, 0);
  if (type === 'latency-aware') for (let i = 0; i < 100; i++) policy.onRequestComplete?.(workers[i]!.id, reqs[0]!, 100 + i, 0);
  bench(`router pick, 100 workers (${type})`, 200_000, (i) => policy.pick(reqs[i & 1023]!, workers, ctx));
}

const store = new ResponseStore({ entriesMax: 10_000, ttlMs: undefined });
const fps = reqs.map((r) => fingerprint(r));
for (let i = 0; i < fps.length; i += 2) store.set(fps[i]!, { promptTokens: 1, completionTokens: 1, finishReason: 'stop' }, 0);
bench('response cache lookup (fingerprint given)', 1_000_000, (i) => store.get(fps[i & 1023]!, 0));
bench('fingerprint of a request', 200_000, (i) => fingerprint(reqs[i & 1023]!));

const coalescer = new Coalescer({ followersMax: 64, groupsMax: 10_000 });
bench('coalescer join + end (leader and 3 followers)', 200_000, (i) => {
  const c = coalescer;
  const fp = fps[i & 1023]!;
  c.join(fp, `l${i}`);
  c.join(fp, `f${i}a`);
  c.join(fp, `f${i}b`);
  c.join(fp, `f${i}c`);
  c.end(`l${i}`);
});

for (const batching of ['none', 'micro'] as const) {
  const core = new GatewayCore(resolveGatewayConfig({ batching: { type: batching }, admission: { maxConcurrentPerWorker: 1000 } }), testRng(1));
  for (const w of ids) core.onWorkerStatus(makeStatus(w, { maxConcurrent: 1000 }), 0);
  const output = { promptTokens: 16, completionTokens: 32, finishReason: 'length' as const };
  let now = 1;
  bench(`gateway core: one request end to end (batching ${batching}, 100 workers)`, 100_000, (i) => {
    const id = `q${i}`;
    const req = makeRequest(id, { sessionId: `s${i & 4095}`, text: `unique ${i}` });
    let cmds = core.onRequestArrived(req, now);
    if (batching !== 'none') cmds = core.onTimer((now += 5));
    let workerId = '';
    for (const c of cmds) if (c.type === 'dispatch') workerId = c.workerId;
    core.onWorkerEvent({ kind: 'tokens', workerId, requestId: id, tokens: 1 }, now);
    core.onWorkerEvent({ kind: 'done', workerId, requestId: id, output }, (now += 1));
  });
}

console.log(`core benchmark — node ${process.version}, ${new Date().toISOString()} (median of 7 repetitions)\n`);
console.log(`${'operation'.padEnd(64)} ${'ns/op'.padStart(10)} ${'ops/s'.padStart(14)}`);
for (const r of rows) console.log(`${r.name.padEnd(64)} ${r.nsPerOp.toFixed(0).padStart(10)} ${Math.round(r.opsPerS).toLocaleString('en-US').padStart(14)}`);
