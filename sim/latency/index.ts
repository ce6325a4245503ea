// Public API of the latency models.
export { AnalyticLatencyModel, createLatencyModel, type DecodeStepBreakdown, type LatencyModel, type LatencyModelConfig, type PrefillBreakdown } from './latency-model.js';
export { loadLocalLatencyModel, LocalLatencyModel } from './local-latency.js';
