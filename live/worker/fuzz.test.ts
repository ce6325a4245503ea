// Fuzzing the worker's inputs: random GenerateRequests (and cancels) through the gRPC Session stream
// of a real worker node with a python runtime. Whatever comes in, the worker never crashes, every
// request that is not cancelled gets exactly one terminal event (Done or Error) and nothing after it,
// and the node serves a normal request afterwards with its runtime still up.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callUnary, createWorkerClient, type EventBatchMsg, type GenerateEventMsg, type GenerateRequestMsg, type WorkerClient } from '../shared/proto.js';
import { ensureTinyModel, until } from './test-support.js';
import { startWorker, type Worker } from './worker.js';

const text = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('hello', 'Once upon a time', 'What is 2+2?') },
  fc.constantFrom('', 'hello', 'Once upon a time', '\u0000', '😀 emoji', '<s>', '</s>', '{{ raise }}', 'x'.repeat(1000)),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);

const message = fc.record({ role: fc.oneof(fc.constantFrom('user', 'assistant', 'system', 'tool'), fc.string({ maxLength: 6 })), content: text });
/** A prompt, or chat messages, mostly one of them (both or neither is invalid, and rarer). */
const input = fc.oneof(
  { weight: 3, arbitrary: text.map((prompt) => ({ prompt, messages: [] as { role: string; content: string }[] })) },
  { weight: 2, arbitrary: fc.array(message, { minLength: 1, maxLength: 4 }).map((messages) => ({ prompt: '', messages })) },
  { weight: 1, arbitrary: fc.record({ prompt: text, messages: fc.array(message, { maxLength: 2 }) }) },
);

const fields = fc.record({
  requestId: fc.oneof({ weight: 8, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) }, { weight: 1, arbitrary: fc.constant('') }),
  model: fc.oneof({ weight: 5, arbitrary: fc.constant('tiny') }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }),
  maxTokens: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.constantFrom(2_000_000, 4_294_967_295) }),
  temperature: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 0.7, 1.5, 1e308) }, { weight: 1, arbitrary: fc.constantFrom(-1, Number.NaN, Number.POSITIVE_INFINITY) }, { weight: 1, arbitrary: fc.double() }),
  topP: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 0.5, 1, 1e-9) }, { weight: 1, arbitrary: fc.constantFrom(1.5, -0.1, Number.NaN) }, { weight: 1, arbitrary: fc.double() }),
  seed: fc.option(fc.oneof(fc.integer(), fc.constantFrom(-1, 2 ** 53 - 1, -(2 ** 53) + 1)), { nil: undefined }),
  stop: fc.oneof({ weight: 3, arbitrary: fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 3 }) }, { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 4 }), { maxLength: 18 }) }),
  sessionId: fc.oneof(fc.constant(''), fc.constantFrom('s1', 's2'), fc.string({ maxLength: 10 })),
  traceId: fc.string({ maxLength: 10 }),
  deadlineOffsetMs: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: -1000, max: 300 }) }),
});
const request = fc.tuple(fields, input).map(([f, i]) => ({ ...f, ...i }));

type Fuzzed = typeof request extends fc.Arbitrary<infer T> ? T : never;

describe('worker fuzz (random GenerateRequests through Session)', () => {
  let worker: Worker;
  let client: WorkerClient;
  beforeAll(async () => {
    worker = await startWorker({ id: 'fuzz', models: [{ id: 'tiny', path: ensureTinyModel() }], maxConcurrent: 16, warmup: { idleCheckMs: 0 } });
    client = createWorkerClient(worker.address);
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await worker?.stop(1_000);
  });

  it('never crashes; one terminal event per request; serves normally afterwards', async () => {
    const s = client.session();
    let run = 0;
    let dones = 0;
    const events: GenerateEventMsg[] = [];
    s.on('data', (b: EventBatchMsg) => events.push(...b.events));
    try {
      await fc.assert(
        fc.asyncProperty(fc.uniqueArray(request, { selector: (r) => r.requestId, minLength: 1, maxLength: 6 }), fc.array(fc.nat(5), { maxLength: 2 }), async (reqs, cancelIdx) => {
          events.length = 0;
          run++;
          // Ids are unique per run (shrinking replays the same values; late events of a run must not count in the next).
          const msgs: GenerateRequestMsg[] = reqs.map((r: Fuzzed) => {
            const { deadlineOffsetMs, seed, requestId, ...rest } = r;
            return {
              ...rest, requestId: requestId === '' ? '' : `${run}|${requestId}`, ...(seed !== undefined && { seed }),
              deadlineUnixMs: deadlineOffsetMs === undefined ? 0 : Date.now() + deadlineOffsetMs,
            };
          });
          s.write({ batch: { requests: msgs } });
          const cancelled = new Set<string>();
          for (const i of cancelIdx) {
            const id = msgs[i % msgs.length]!.requestId;
            cancelled.add(id);
            s.write({ cancel: { requestId: id } });
          }
          const terminals = (id: string) => events.filter((e) => e.requestId === id && e.kind !== 'tokens');
          await until(() => msgs.every((m) => cancelled.has(m.requestId) || terminals(m.requestId).length > 0), 20_000);
          await until(() => worker.node.inFlight === 0, 20_000);
          dones += events.filter((e) => e.kind === 'done').length;
          if (process.env.FUZZ_DEBUG) console.log(events.filter((e) => e.kind !== 'tokens').map((e) => (e.kind === 'error' ? `${e.error.code}(${e.error.message.slice(0, 50)})` : 'done')).join(' | '));
          for (const m of msgs) {
            if (m.requestId === '') continue; // refused (request_id is required); '' is not unique across runs
            if (cancelled.has(m.requestId)) {
              expect(terminals(m.requestId).length).toBeLessThanOrEqual(1);
              continue;
            }
            const evs = events.filter((e) => e.requestId === m.requestId);
            expect(terminals(m.requestId)).toHaveLength(1);
            expect(evs.at(-1)!.kind).not.toBe('tokens');
            const t = evs.at(-1)!;
            if (t.kind === 'error' && /^(max_tokens|temperature)/.test(t.error.message)) expect(t.error.clientFault).toBe(true);
          }
        }),
        // A fixed seed: the same inputs every run, so the count below does not depend on luck.
        { numRuns: 15, seed: 20261122, interruptAfterTimeLimit: 60_000 },
      );
    } finally {
      s.end();
    }
    expect(dones).toBeGreaterThan(0); // the fuzzer reaches the runtime, not only the validation
    const st = await callUnary(client, client.stats, {}, 2_000);
    expect(st).toMatchObject({ healthy: true, runtimesAlive: 1, runtimesTotal: 1, activeSequences: 0 });
    const done = await new Promise<GenerateEventMsg[]>((resolve, reject) => {
      const evs: GenerateEventMsg[] = [];
      const c = client.generate({ requestId: 'after', model: 'tiny', prompt: 'Still alive?', maxTokens: 4 });
      c.on('data', (ev: GenerateEventMsg) => evs.push(ev));
      c.on('end', () => resolve(evs));
      c.on('error', reject);
    });
    expect(done.at(-1)!.kind).toBe('done');
  }, 60_000);

  it('maps the runtime\'s invalid-params error (-32602) to a client-fault Error event', async () => {
    const evs = await new Promise<GenerateEventMsg[]>((resolve, reject) => {
      const out: GenerateEventMsg[] = [];
      const c = client.generate({ requestId: 'big', model: 'tiny', prompt: 'x', maxTokens: 2_000_000 });
      c.on('data', (ev: GenerateEventMsg) => out.push(ev));
      c.on('end', () => resolve(out));
      c.on('error', reject);
    });
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ kind: 'error', error: { code: 'invalid_request', clientFault: true } });
    expect(evs[0]!.kind === 'error' && evs[0]!.error.message).toMatch(/max_tokens/);
  });
});
