// Public API of the live load generator.
export { runLoad, Conversations, type Arrival, type ArrivalSource, type LoadRunOptions, type LoadRunResult, type LoadTarget } from './generator.js';
export { streamChat, type ChatCall, type ChatMessage, type ChatOutcome, type OutcomeKind } from './client.js';
export { LoadMetrics, type LoadSummary, type Percentiles } from './metrics.js';
export { SseParser } from './sse.js';
export { textOfTokens, TOKENS_PER_WORD } from './text.js';
