// Public API of simulator metrics.
export { COUNTER_NAMES, HISTOGRAM_NAMES, Metric, type CounterName, type HistogramName } from './names.js';
export { NULL_SINK, recordCompletion, type MetricsSink, type RequestTiming } from './sink.js';
export { LatencyHistogram } from './histogram.js';
export { SimMetrics, type LatencySummary, type SimMetricsOptions, type SimSummary, type TimeSeries, type WorkerSummary, type WorkerSummaryInput } from './sim-metrics.js';
