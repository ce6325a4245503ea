// Fault scenarios against real processes, with counts: a closed-loop load (streamed and not) runs
// while a fault is injected; every request is classified. Used by live/cli/reliability.test.ts (small
// sizes, in `npm test`) and by `npm run reliability` (live/cli/reliability.ts, the report).
//
// Classification of one request:
//   ok            200 and (stream) every event a chunk, then [DONE]
//   failed_clear  a stream that had already delivered content, then ended with an SSE error event
//                 and [DONE] (the design: never retry a stream once tokens reached the client)
//   lost          a request that had delivered nothing to the client and still failed (non-200,
//                 or an error event before any content): the gateway should have retried it
//   hang          no complete answer within the client timeout, or a stream without [DONE]
// "Retryable" requests are the ones that had delivered nothing when they failed: `lost` must be 0.
import type { Gateway } from '../gateway/gateway.js';
import { SseParser } from '../load/sse.js';
import { systemClock } from '../shared/clock.js';

export interface LoadOptions {
  readonly url: string;
  readonly apiKey: string;
  readonly model: string;
  readonly concurrency: number;
  /** Fraction of requests that stream (deterministic: every k-th request). */
  readonly streamRatio: number;
  readonly maxTokens: number;
  readonly prompt: string;
  readonly clientTimeoutMs: number;
  /** Cacheable requests: temperature 0, no cache bypass, the prompt picked from `prompts` in turn
   *  (repeats are answered by the response cache or coalesced). Default: every request unique work. */
  readonly cacheable?: { readonly prompts: readonly string[] };
}

export type Outcome = 'ok' | 'failed_clear' | 'lost' | 'hang';

export interface RequestRecord {
  readonly stream: boolean;
  readonly outcome: Outcome;
  readonly status: number;
  readonly code: string | undefined;
  /** The Retry-After header of a refusal, in seconds. */
  readonly retryAfterS: number | undefined;
  readonly startMs: number;
  readonly endMs: number;
}

export interface LoadSummary {
  sent: number;
  ok: number;
  failedClear: number;
  lost: number;
  hangs: number;
  streams: number;
  byCode: Record<string, number>;
}

export interface RunningLoad {
  readonly records: RequestRecord[];
  stop(): Promise<LoadSummary>;
}

export function summarize(records: readonly RequestRecord[]): LoadSummary {
  const s: LoadSummary = { sent: records.length, ok: 0, failedClear: 0, lost: 0, hangs: 0, streams: 0, byCode: {} };
  for (const r of records) {
    if (r.stream) s.streams++;
    if (r.outcome === 'ok') s.ok++;
    else if (r.outcome === 'failed_clear') s.failedClear++;
    else if (r.outcome === 'lost') s.lost++;
    else s.hangs++;
    if (r.code !== undefined) s.byCode[r.code] = (s.byCode[r.code] ?? 0) + 1;
  }
  return s;
}

/** Starts `concurrency` closed-loop clients; stop() waits for the requests under way and summarizes. */
export function startLoad(o: LoadOptions): RunningLoad {
  const records: RequestRecord[] = [];
  let running = true;
  let seq = 0;
  const every = o.streamRatio <= 0 ? Infinity : Math.max(1, Math.round(1 / o.streamRatio));
  const client = async () => {
    while (running) {
      const n = seq++;
      records.push(await oneRequest(o, n % every === 0, n));
    }
  };
  const clients = Array.from({ length: o.concurrency }, () => client());
  return {
    records,
    async stop() {
      running = false;
      await Promise.all(clients);
      return summarize(records);
    },
  };
}

async function oneRequest(o: LoadOptions, stream: boolean, n: number): Promise<RequestRecord> {
  const startMs = Date.now();
  const prompts = o.cacheable?.prompts ?? [];
  const prompt = prompts.length > 0 ? prompts[n % prompts.length]! : o.prompt;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), o.clientTimeoutMs);
  let retryAfterS: number | undefined;
  const done = (outcome: Outcome, status: number, code?: string): RequestRecord => ({ stream, outcome, status, code, retryAfterS, startMs, endMs: Date.now() });
  try {
    const res = await fetch(`${o.url}/v1/chat/completions`, {
      method: 'POST',
      signal: ac.signal,
      headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json', ...(o.cacheable === undefined && { 'x-cache-bypass': '1' }) },
      body: JSON.stringify({ model: o.model, messages: [{ role: 'user', content: prompt }], max_tokens: o.maxTokens, temperature: o.cacheable === undefined ? 0.7 : 0, stream }),
    });
    if (res.status !== 200) {
      const ra = res.headers.get('retry-after');
      if (ra !== null) retryAfterS = Number(ra);
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
      return done('lost', res.status, body.error?.code ?? `http_${res.status}`);
    }
    if (!stream) {
      const body = (await res.json()) as { choices?: { message?: { content?: string } }[] };
      return body.choices?.[0]?.message !== undefined ? done('ok', 200) : done('lost', 200, 'bad_body');
    }
    const events = new SseParser().push(await res.text());
    if (events.at(-1) !== '[DONE]') return done('hang', 200, 'no_done');
    let content = false;
    for (const e of events.slice(0, -1)) {
      const j = JSON.parse(e) as { error?: { code?: string }; choices?: { delta?: { content?: string } }[] };
      if (j.error !== undefined) return done(content ? 'failed_clear' : 'lost', 200, j.error.code ?? 'sse_error');
      if ((j.choices?.[0]?.delta?.content ?? '').length > 0) content = true;
    }
    return done('ok', 200);
  } catch (err) {
    return done(ac.signal.aborted ? 'hang' : 'lost', 0, ac.signal.aborted ? 'client_timeout' : `network:${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}


export function workerView(gw: Gateway, id: string) {
  return gw.core.workerInfo(systemClock.nowMs()).find((w) => w.id === id);
}
