// The metrics sink interface: passed in to whoever records (the driver, the worker via StepObserver),
// never a global. SimMetrics is the in-memory implementation; a no-op sink is provided for benches.
import type { StepObserver } from '../worker/worker.js';
import { GOODPUT_TPOT_MS, type CounterName, type HistogramName } from './names.js';

export interface MetricsSink extends StepObserver {
  /** Records a latency sample (ms) `count` times at virtual time nowMs. */
  observe(name: HistogramName, valueMs: number, nowMs: number, count?: number): void;
  /** Adds `by` to a counter at virtual time nowMs. */
  add(name: CounterName, by: number, nowMs: number): void;
}

export const NULL_SINK: MetricsSink = {
  observe: () => undefined,
  add: () => undefined,
  onStep: () => undefined,
};

/** The per-request timing a driver reports when a request completes. */
export interface RequestTiming {
  /** Arrival at the gateway. */
  readonly arrivalMs: number;
  readonly firstTokenMs: number;
  readonly endMs: number;
  /** Time waiting on the worker before joining a batch. */
  readonly queueMs: number;
  readonly prefillMs: number;
  readonly decodeMs: number;
  readonly outputTokens: number;
  readonly promptTokens: number;
  readonly cachedPromptTokens: number;
}

/** Records a completed request: TTFT and end-to-end from gateway arrival, and the per-phase breakdown. */
export function recordCompletion(sink: MetricsSink, t: RequestTiming, nowMs: number): void {
  sink.observe('ttft_ms', t.firstTokenMs - t.arrivalMs, nowMs);
  sink.observe('e2e_ms', t.endMs - t.arrivalMs, nowMs);
  sink.observe('queue_wait_ms', t.queueMs, nowMs);
  sink.observe('prefill_ms', t.prefillMs, nowMs);
  sink.observe('decode_ms', t.decodeMs, nowMs);
  sink.add('requests_completed', 1, nowMs);
  sink.add('output_tokens', t.outputTokens, nowMs);
  if (t.outputTokens <= 1 || (t.endMs - t.firstTokenMs) / (t.outputTokens - 1) <= GOODPUT_TPOT_MS) sink.add('goodput_output_tokens', t.outputTokens, nowMs);
  sink.add('prompt_tokens', t.promptTokens, nowMs);
  if (t.cachedPromptTokens > 0) {
    sink.add('prompt_tokens_cached', t.cachedPromptTokens, nowMs);
    sink.add('prefix_cache_hits', 1, nowMs);
  }
}
