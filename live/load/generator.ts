// The live load generator: an arrival source (scenarios builds it from the simulator's workload —
// the same seeded stream of InferenceRequests the simulator runs; scenarios/live/arrivals.ts) driven
// in real time over HTTP/SSE.
//   open loop:   each request is sent at its arrivalMs, whatever the server's state;
//   closed loop: each user's next request is asked of the source when its previous one ends
//                (onFinished), and sent after the think time it returns.
// Prompts become text (text.ts): duplicates are byte-identical, a session's turns resend the
// conversation so far (earlier user messages and the answers actually received) plus the new user
// message, with `x-session-id`. The run ends when the workload is exhausted and every request has
// ended; requests still running at durationMs + drainMs are cut and counted as failed.
import type { InferenceRequest } from '../../core/types.js';
import { streamChat, type ChatMessage, type ChatOutcome } from './client.js';
import { LoadMetrics, type ErrorCodeCount, type LoadSummary } from './metrics.js';
import { textOfTokens } from './text.js';

export interface LoadTarget {
  /** Policy name in the summary ("mlx_lm.server", "mlx-serving (1 worker)"). */
  readonly name: string;
  /** Base URL, e.g. http://127.0.0.1:8080 (the client posts to /v1/chat/completions). */
  readonly baseUrl: string;
  /** The `model` field to send. */
  readonly model: string;
  readonly apiKey?: string;
  /** Workers behind the target (for the summary). */
  readonly workers: number;
}

/** A request and when to send it (ms from the start of the run). */
export interface Arrival {
  readonly arrivalMs: number;
  readonly request: InferenceRequest;
}

/** Where the requests come from: an open loop pulled one by one, or a closed loop of users. */
export type ArrivalSource =
  | { readonly kind: 'open'; readonly durationMs: number; next(): Arrival | undefined }
  | { readonly kind: 'closed'; readonly durationMs: number; start(nowMs: number): readonly Arrival[]; onFinished(requestId: string, nowMs: number): Arrival | undefined };

export interface LoadRunOptions {
  readonly target: LoadTarget;
  readonly arrivals: ArrivalSource;
  /** Seeds the prompt texts (text.ts). */
  readonly seed: number;
  readonly requestTimeoutMs: number;
  /** After workload.durationMs, requests still running get this long before they are cut. */
  readonly drainMs: number;
  /** Open loop: requests in flight at most; an arrival beyond it fails at once (client overload). */
  readonly inFlightMax?: number;
  /** Teardown: cuts the run (e.g. the server died). */
  readonly signal?: AbortSignal;
  readonly onRequestDone?: (outcome: ChatOutcome, done: number) => void;
}

export interface LoadRunResult {
  readonly summary: LoadSummary;
  /** Error messages and how often each was seen (most frequent first). */
  readonly errors: readonly (readonly [string, number])[];
  /** Requests that did not succeed, by code (ChatOutcome.code) and kind, most frequent first. */
  readonly errorCodes: readonly ErrorCodeCount[];
  readonly aborted: boolean;
}

/** Conversations held at most (a session beyond it starts over, as if it were new). */
const SESSIONS_MAX = 100_000;
const IN_FLIGHT_MAX_DEFAULT = 10_000;

/** Conversation state of the sessions seen so far (bounded, oldest dropped first). */
export class Conversations {
  private readonly sessions = new Map<string, { messages: ChatMessage[]; contextTokens: number }>();

  constructor(private readonly seed: number) {}

  /** The messages to send for a request. */
  messagesFor(req: InferenceRequest): ChatMessage[] {
    const key = req.prompt.kind === 'text' ? req.prompt.text : req.id;
    const s = req.sessionId === undefined ? undefined : this.sessions.get(req.sessionId);
    if (s === undefined) return [{ role: 'user', content: textOfTokens(key, this.seed, req.promptTokens) }];
    const newTokens = Math.max(1, req.promptTokens - s.contextTokens);
    return [...s.messages, { role: 'user', content: textOfTokens(key, this.seed, newTokens) }];
  }

  /** After a turn: the conversation now holds the answer received. */
  remember(req: InferenceRequest, sent: readonly ChatMessage[], answer: string, outputTokens: number): void {
    if (req.sessionId === undefined) return;
    this.sessions.delete(req.sessionId);
    if (this.sessions.size >= SESSIONS_MAX) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(req.sessionId, { messages: [...sent, { role: 'assistant', content: answer }], contextTokens: req.promptTokens + outputTokens });
  }
}

export function runLoad(o: LoadRunOptions): Promise<LoadRunResult> {
  const w = o.arrivals;
  const now = () => performance.now();
  const t0 = now();
  const metrics = new LoadMetrics(t0, Math.max(1000, Math.round(w.durationMs / 60)));
  const conv = new Conversations(o.seed);
  const cut = new AbortController();
  const signal = o.signal === undefined ? cut.signal : AbortSignal.any([o.signal, cut.signal]);
  const url = `${o.target.baseUrl.replace(/\/$/, '')}/v1/chat/completions`;
  const timers = new Set<NodeJS.Timeout>();
  const inFlightMax = o.inFlightMax ?? IN_FLIGHT_MAX_DEFAULT;
  let scheduled = 0;
  let inFlight = 0;
  let done = 0;
  let lastEndMs = t0;
  let exhausted = false;
  let finished = false;

  const closed = w.kind === 'closed' ? w : undefined;
  const open = w.kind === 'open' ? w : undefined;

  return new Promise<LoadRunResult>((resolve) => {
    const finish = () => {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t);
      clearTimeout(deadline);
      o.signal?.removeEventListener('abort', onAbort);
      const durationMs = Math.max(1, lastEndMs - t0);
      const errors = [...metrics.errors.entries()].sort((a, b) => b[1] - a[1]);
      resolve({ summary: metrics.summary(o.target.name, o.target.workers, durationMs), errors, errorCodes: metrics.errorCodeCounts(), aborted: o.signal?.aborted === true });
    };
    const check = () => {
      if (scheduled === 0 && inFlight === 0 && (closed !== undefined || exhausted)) finish();
    };
    const schedule = (r: Arrival) => {
      scheduled++;
      const t = setTimeout(() => {
        timers.delete(t);
        scheduled--;
        if (open !== undefined) pullOpen();
        void send(r);
      }, Math.max(0, t0 + r.arrivalMs - now()));
      timers.add(t);
    };
    const pullOpen = () => {
      const r = open!.next();
      if (r === undefined) exhausted = true;
      else schedule(r);
    };
    const send = async (r: Arrival) => {
      if (signal.aborted) return check();
      const req = r.request;
      const messages = conv.messagesFor(req);
      inFlight++;
      metrics.sent(now());
      const out: ChatOutcome =
        open !== undefined && inFlight > inFlightMax
          ? { kind: 'failed', status: 0, error: `client: more than ${inFlightMax} requests in flight`, code: 'client_overload', sentMs: now(), firstTokenMs: undefined, endMs: now(), chunkMs: [], text: '', completionTokens: 0, promptTokens: undefined, cachedTokens: undefined }
          : await streamChat({
              url, model: o.target.model, messages, maxTokens: req.sampling.maxTokens, temperature: req.sampling.temperature,
              timeoutMs: o.requestTimeoutMs, signal,
              ...(o.target.apiKey !== undefined && { apiKey: o.target.apiKey }),
              ...(req.sessionId !== undefined && { sessionId: req.sessionId }),
            });
      inFlight--;
      if (cut.signal.aborted && out.kind !== 'ok') metrics.counters.unfinished++;
      metrics.finished(out);
      lastEndMs = Math.max(lastEndMs, out.endMs);
      if (out.kind === 'ok') conv.remember(req, messages, out.text, out.completionTokens);
      o.onRequestDone?.(out, ++done);
      if (closed !== undefined && !signal.aborted) {
        const next = closed.onFinished(req.id, now() - t0);
        if (next !== undefined) schedule(next);
      }
      check();
    };
    const onAbort = () => {
      for (const t of timers) clearTimeout(t);
      scheduled = 0;
      timers.clear();
      cut.abort();
      check();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const deadline = setTimeout(onAbort, w.durationMs + o.drainMs);
    if (closed !== undefined) for (const r of closed.start(0)) schedule(r);
    else pullOpen();
    check();
  });
}
