// Public API of the workload generators.
export * from './types.js';
export { sampleLength, validateLength, TOKENS_MAX } from './lengths.js';
export { ArrivalClock, RATE_SEGMENTS_MAX, validateArrival, validateRate } from './arrivals.js';
export { RequestFactory, type HotPrompt, type SessionState } from './requests.js';
export { OpenLoopWorkload, REQUESTS_MAX_DEFAULT, validateOpenLoop } from './open-loop.js';
export { ClosedLoopWorkload, USERS_MAX, validateClosedLoop } from './closed-loop.js';
export { MIX_PARTS_MAX, MixedWorkload, validateMix } from './mix.js';
export { loadTrace, MOONCAKE_BLOCK_TOKENS, parseAzureCsv, parseMooncakeJsonl, TRACE_RECORDS_MAX, TraceWorkload, type TraceFormat, type TraceRecord, type TraceReplayOptions } from './traces.js';
