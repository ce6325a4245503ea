// Grafana dashboards as code: the source of deploy/grafana/*.json (issue 18).
//
//   npx tsx deploy/grafana/dashboards.ts          # rewrites the JSON files next to this one
//
// Built with Grafana's own builder library, @grafana/grafana-foundation-sdk (generated from Grafana's
// schemas, so a panel or query field that Grafana does not know does not type-check). Every series
// comes from METRIC / PROCESS_METRIC (live/gateway/metrics-names.ts) or from a recording rule in
// deploy/prometheus/rules/; dashboards.test.ts parses every expression and checks each name against
// those and against a real scrape of a test gateway, and checks that the committed JSON is what this
// file generates.
//
// Every dashboard has two variables: `datasource` (a Prometheus data source) and `instance` (the
// gateways to show, from a series every gateway always exports; All by default, which Grafana
// expands to the gateways' instances, so worker nodes' process series with the same names stay
// out); the worker dashboards add `worker`. Worker node processes (`mlx-serving worker
// --metrics-address`) are selected by the scrape job of deploy/prometheus/prometheus.yml.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { DashboardBuilder, DashboardCursorSync, DatasourceVariableBuilder, QueryVariableBuilder, RowBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { METRIC, PROCESS_METRIC } from '../../live/gateway/metrics-names.js';

const DS = { type: 'prometheus', uid: '${datasource}' } as const;
const RATE = '$__rate_interval';
/** Every raw series is filtered to the selected gateways. */
const INST = 'instance=~"$instance"';
/** The scrape job of worker nodes' own /metrics (deploy/prometheus/prometheus.yml). */
const WORKER_JOB = 'job="mlx-serving-worker"';
const WORKER = `${INST}, worker=~"$worker"`;

/** `name{instance=~"$instance", …}` */
function s(name: string, labels = INST): string {
  return `${name}{${labels}}`;
}
function rate(name: string, labels = INST): string {
  return `rate(${s(name, labels)}[${RATE}])`;
}
/** The q-quantile of a histogram over the selected gateways, optionally kept apart `by` labels. */
function quantile(q: number, histogram: string, by: string[] = [], labels = INST): string {
  return `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (${rate(`${histogram}_bucket`, labels)}))`;
}

type Target = readonly [expr: string, legend: string];

interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  readonly targets: readonly Target[];
  readonly span?: number;
  readonly height?: number;
  readonly min?: number;
  readonly max?: number;
}

function queries(targets: readonly Target[]): DataqueryBuilder[] {
  return targets.map(([expr, legend], i) => new DataqueryBuilder().refId(String.fromCharCode(65 + i)).expr(expr).legendFormat(legend));
}

function timeseries(p: PanelSpec): TimeseriesBuilder {
  const b = new TimeseriesBuilder().title(p.title).description(p.description).datasource(DS).unit(p.unit).span(p.span ?? 12).height(p.height ?? 8);
  if (p.min !== undefined) b.min(p.min);
  if (p.max !== undefined) b.max(p.max);
  for (const q of queries(p.targets)) b.withTarget(q);
  return b;
}

function stat(p: PanelSpec): StatBuilder {
  const b = new StatBuilder().title(p.title).description(p.description).datasource(DS).unit(p.unit).span(p.span ?? 6).height(p.height ?? 4)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']));
  for (const q of queries(p.targets)) b.withTarget(q);
  return b;
}

type Item = { readonly row: string } | { readonly panel: cog.Builder<unknown> };

function dashboard(uid: string, title: string, description: string, items: readonly Item[], perWorker: boolean): Dashboard {
  const d = new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['mlx-serving', 'generated'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(labelVariable('instance', 'Gateway', `label_values(${METRIC.kvWatermarkRatio}, instance)`));
  if (perWorker) d.withVariable(labelVariable('worker', 'Worker', `label_values(${METRIC.workerHealthy}{${INST}}, worker)`));
  for (const it of items) {
    if ('row' in it) d.withRow(new RowBuilder(it.row));
    else d.withPanel(it.panel as cog.Builder<never>);
  }
  return d.build();
}

function labelVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name).label(label).datasource(DS).query(query).definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged).sort(VariableSort.AlphabeticalAsc).multi(true).includeAll(true);
}

const row = (title: string): Item => ({ row: title });
const ts = (p: PanelSpec): Item => ({ panel: timeseries(p) });
const st = (p: PanelSpec): Item => ({ panel: stat(p) });

/** A function, not a constant: a builder is mutable (withPanel sets its grid position), so each dashboard gets its own. */
const processRow = (): Item[] => [
  row('Gateway process'),
  ts({ title: 'Event-loop lag', description: 'The gateway runs on one thread: a lag that grows is a saturated gateway (alert MlxServingEventLoopLag above 100 ms p99).', unit: 's', span: 8, min: 0,
    targets: [[s(PROCESS_METRIC.eventLoopLagP99Seconds), 'p99 {{instance}}'], [s(PROCESS_METRIC.eventLoopLagSeconds), 'now {{instance}}']] }),
  ts({ title: 'CPU', description: 'CPU seconds per second of the gateway process (1 = one core).', unit: 'percentunit', span: 8, min: 0, targets: [[rate(PROCESS_METRIC.cpuSeconds), '{{instance}}']] }),
  ts({ title: 'Memory', description: 'Resident set and V8 heap in use.', unit: 'bytes', span: 8, min: 0,
    targets: [[s(PROCESS_METRIC.residentMemoryBytes), 'rss {{instance}}'], [`sum by (instance) (${s(PROCESS_METRIC.heapUsedBytes)})`, 'heap {{instance}}']] }),
];

function fleetOverview(): Dashboard {
  return dashboard('mlx-serving-fleet', 'mlx-serving / Fleet overview', 'Traffic, outcomes, latency and workers of the gateways at a glance.', [
    row('Now'),
    st({ title: 'Requests/s', description: 'HTTP requests per second over all routes.', unit: 'reqps', targets: [[`sum(${rate(METRIC.httpRequests)})`, 'requests/s']] }),
    st({ title: 'Healthy workers', description: 'Workers whose heartbeats arrive (mlx_serving_worker_healthy).', unit: 'none', targets: [[`sum(${s(METRIC.workerHealthy)})`, 'healthy']] }),
    st({ title: 'TTFT p99', description: 'Time to first token, 99th percentile.', unit: 's', targets: [[quantile(0.99, METRIC.ttftSeconds), 'p99']] }),
    st({ title: 'Active requests', description: 'Requests the gateway core tracks now, all phases.', unit: 'none', targets: [[`sum(${s(METRIC.activeRequests)})`, 'active']] }),
    row('Traffic'),
    ts({ title: 'Requests by status', description: 'HTTP requests per second by status code.', unit: 'reqps', min: 0, targets: [[`sum by (status) (${rate(METRIC.httpRequests)})`, '{{status}}']] }),
    ts({ title: 'Outcomes', description: 'Finished requests per second by the core\'s outcome (served, cached, deduped, coalesced, rejected, failed, cancelled).', unit: 'reqps', min: 0,
      targets: [[`sum by (outcome) (${rate(METRIC.outcomes)})`, '{{outcome}}']] }),
    ts({ title: 'Tokens/s', description: 'Prompt and completion tokens per second.', unit: 'short', min: 0,
      targets: [[`sum(${rate(METRIC.promptTokens)})`, 'prompt'], [`sum(${rate(METRIC.completionTokens)})`, 'completion']] }),
    ts({ title: 'Active requests by phase', description: 'Requests in the gateway core by phase (waiting, routing, queued, backoff, running, following).', unit: 'none', min: 0,
      targets: [[`sum by (phase) (${s(METRIC.activeRequests)})`, '{{phase}}']] }),
    row('Latency'),
    ts({ title: 'TTFT', description: 'Time to first token, p50 and p99.', unit: 's', min: 0, targets: [[quantile(0.5, METRIC.ttftSeconds), 'p50'], [quantile(0.99, METRIC.ttftSeconds), 'p99']] }),
    ts({ title: 'Request duration', description: 'Arrival to last byte, p99 by route.', unit: 's', min: 0, targets: [[quantile(0.99, METRIC.requestSeconds, ['route']), 'p99 {{route}}']] }),
    ...processRow(),
  ], false);
}

function cacheDedupeCoalescing(): Dashboard {
  return dashboard('mlx-serving-cache', 'mlx-serving / Cache, dedupe and coalescing', 'Requests the gateway answers without a worker generating them again.', [
    row('Response cache'),
    st({ title: 'Cache hit ratio', description: 'hits / (hits + misses) over the range.', unit: 'percentunit',
      targets: [[`sum(${rate(METRIC.cacheHits)}) / (sum(${rate(METRIC.cacheHits)}) + sum(${rate(METRIC.cacheMisses)}))`, 'hit ratio']] }),
    st({ title: 'Cache entries', description: 'Entries in the response cache now.', unit: 'none', targets: [[`sum(${s(METRIC.cacheEntries)})`, 'entries']] }),
    st({ title: 'Tokens saved/s', description: 'Completion tokens coalesced followers received without a worker generating them again.', unit: 'short', targets: [[`sum(${rate(METRIC.coalescedTokensSaved)})`, 'saved']] }),
    st({ title: 'Dedupe hits/s', description: 'Requests answered from the dedupe window.', unit: 'reqps', targets: [[`sum(${rate(METRIC.dedupeHits)})`, 'dedupe']] }),
    ts({ title: 'Cache hits, misses, evictions', description: 'Per second.', unit: 'ops', min: 0,
      targets: [[`sum(${rate(METRIC.cacheHits)})`, 'hits'], [`sum(${rate(METRIC.cacheMisses)})`, 'misses'], [`sum(${rate(METRIC.cacheEvictions)})`, 'evictions']] }),
    ts({ title: 'Cache entries', description: 'Entries per gateway (bounded by cache.maxEntries).', unit: 'none', min: 0, targets: [[s(METRIC.cacheEntries), '{{instance}}']] }),
    row('Dedupe and coalescing'),
    ts({ title: 'Answered without a new generation', description: 'Requests per second served by the dedupe window, by following an identical in-flight job (coalesced), or from the cache.', unit: 'reqps', min: 0,
      targets: [[`sum(${rate(METRIC.dedupeHits)})`, 'dedupe'], [`sum(${rate(METRIC.coalescedRequests)})`, 'coalesced'], [`sum(${rate(METRIC.cacheHits)})`, 'cache']] }),
    ts({ title: 'Coalesced groups', description: 'In-flight jobs that gained at least one follower, per second; followers per group = coalesced requests / groups.', unit: 'short', min: 0,
      targets: [[`sum(${rate(METRIC.coalescedGroups)})`, 'groups/s'], [`sum(${rate(METRIC.coalescedRequests)}) / sum(${rate(METRIC.coalescedGroups)})`, 'followers per group']] }),
    ts({ title: 'Share of requests without a new generation', description: '(dedupe + coalesced + cache hits) / all outcomes.', unit: 'percentunit', min: 0, max: 1,
      targets: [[`(sum(${rate(METRIC.dedupeHits)}) + sum(${rate(METRIC.coalescedRequests)}) + sum(${rate(METRIC.cacheHits)})) / sum(${rate(METRIC.outcomes)})`, 'share']] }),
  ], false);
}

function batchingScheduler(): Dashboard {
  return dashboard('mlx-serving-batching', 'mlx-serving / Batching and scheduler', 'Gateway micro-batching into GenerateBatch messages, per-worker admission and queueing.', [
    row('Batching'),
    ts({ title: 'Batch size', description: 'Requests per GenerateBatch message (core.batching: micro windowMs / maxBatchSize).', unit: 'none', min: 0,
      targets: [[quantile(0.5, METRIC.batchSize), 'p50'], [quantile(0.99, METRIC.batchSize), 'p99'], [`sum(${rate(`${METRIC.batchSize}_sum`)}) / sum(${rate(`${METRIC.batchSize}_count`)})`, 'mean']] }),
    ts({ title: 'Batches/s', description: 'GenerateBatch messages sent per second.', unit: 'ops', min: 0, targets: [[`sum(${rate(`${METRIC.batchSize}_count`)})`, 'batches/s']] }),
    row('Scheduler and admission'),
    ts({ title: 'Queued vs running', description: 'Requests in the core by phase: a growing queue with flat running means the workers are at their limits.', unit: 'none', min: 0,
      targets: [[`sum by (phase) (${s(METRIC.activeRequests)})`, '{{phase}}']] }),
    ts({ title: 'In flight vs concurrency limit', description: 'Per worker: requests in flight and the gateway\'s in-flight limit (adaptive when admission.adaptive is on).', unit: 'none', min: 0,
      targets: [[s(METRIC.workerInFlight, WORKER), 'in flight {{worker}}'], [s(METRIC.workerConcurrencyLimit, WORKER), 'limit {{worker}}']] }),
    ts({ title: 'Dispatches per worker', description: 'Attempts (retries included) sent to each worker per second: the routing policy\'s spread.', unit: 'reqps', min: 0,
      targets: [[`sum by (worker) (${rate(METRIC.workerDispatches, WORKER)})`, '{{worker}}']] }),
    ts({ title: 'Retries and refusals', description: 'Retries, rate-limit refusals and slow-client cancels per second.', unit: 'ops', min: 0,
      targets: [[`sum(${rate(METRIC.retries)})`, 'retries'], [`sum(${rate(METRIC.rateLimited)})`, 'rate limited'], [`sum(${rate(METRIC.slowClientCancels)})`, 'slow-client cancels']] }),
  ], true);
}

function workerHealth(): Dashboard {
  return dashboard('mlx-serving-workers', 'mlx-serving / Worker health and breakers', 'Heartbeat health, circuit breakers, links and load per worker.', [
    row('Health'),
    st({ title: 'Healthy workers', description: 'Workers with heartbeats arriving.', unit: 'none', targets: [[`sum(${s(METRIC.workerHealthy, WORKER)})`, 'healthy']] }),
    st({ title: 'Breakers open', description: 'Workers whose breaker is open (2).', unit: 'none', targets: [[`count(${s(METRIC.breakerState, WORKER)} == 2) or vector(0)`, 'open']] }),
    st({ title: 'Unhealthy workers', description: 'Workers whose heartbeats stopped.', unit: 'none', targets: [[`count(${s(METRIC.workerHealthy, WORKER)} == 0) or vector(0)`, 'unhealthy']] }),
    st({ title: 'Retries/s', description: 'Attempts retried after a worker error or timeout.', unit: 'ops', targets: [[`sum(${rate(METRIC.retries)})`, 'retries']] }),
    ts({ title: 'Worker healthy', description: '1 healthy, 0 missed heartbeats (core.health.missesMax in a row).', unit: 'none', min: 0, max: 1,
      targets: [[s(METRIC.workerHealthy, WORKER), '{{worker}}']] }),
    ts({ title: 'Breaker state', description: '0 closed, 1 half-open, 2 open.', unit: 'none', min: 0, max: 2, targets: [[s(METRIC.breakerState, WORKER), '{{worker}}']] }),
    row('Links and load'),
    ts({ title: 'Stream reconnects', description: 'Session stream reconnects per worker, per second: a flapping link.', unit: 'ops', min: 0,
      targets: [[`sum by (worker) (${rate(METRIC.workerStreamReconnects, WORKER)})`, '{{worker}}']] }),
    ts({ title: 'In flight', description: 'Requests in flight per worker.', unit: 'none', min: 0, targets: [[s(METRIC.workerInFlight, WORKER), '{{worker}}']] }),
    ts({ title: 'Failed and rejected', description: 'Finished requests per second that failed (worker errors after retries) or were rejected (queue full, no worker).', unit: 'reqps', min: 0,
      targets: [[`sum by (outcome) (${rate(METRIC.outcomes, `${INST}, outcome=~"rejected|failed"`)})`, '{{outcome}}']] }),
    row('Worker node processes (scrape job mlx-serving-worker)'),
    ts({ title: 'Node event-loop lag p99', description: 'Each worker node process (mlx-serving worker --metrics-address): its gRPC server and runtime pool share one thread.', unit: 's', span: 8, min: 0,
      targets: [[s(PROCESS_METRIC.eventLoopLagP99Seconds, WORKER_JOB), '{{instance}}']] }),
    ts({ title: 'Node CPU', description: 'CPU of the worker node process (the python runtimes are separate processes).', unit: 'percentunit', span: 8, min: 0,
      targets: [[rate(PROCESS_METRIC.cpuSeconds, WORKER_JOB), '{{instance}}']] }),
    ts({ title: 'Node memory', description: 'Resident set of the worker node process.', unit: 'bytes', span: 8, min: 0,
      targets: [[s(PROCESS_METRIC.residentMemoryBytes, WORKER_JOB), '{{instance}}']] }),
  ], true);
}

function rollingRestarts(): Dashboard {
  return dashboard('mlx-serving-rolling', 'mlx-serving / Rolling restarts', 'A rolling restart (POST /admin/restart) one worker at a time: progress, capacity and errors while it runs.', [
    row('Progress'),
    st({ title: 'Running', description: '1 while a rolling restart runs.', unit: 'none', targets: [[`max(${s(METRIC.rollingRestartRunning)})`, 'running']] }),
    st({ title: 'Workers done', description: 'Workers the current or last rolling restart has restarted.', unit: 'none', targets: [[`max(${s(METRIC.rollingRestartWorkersDone)})`, 'done']] }),
    st({ title: 'Running for', description: 'Seconds since the running restart started (alert MlxServingRollingRestartStuck after 30 min).', unit: 's',
      targets: [[`max((time() - ${s(METRIC.rollingRestartStartedSeconds)}) and on (instance) (${s(METRIC.rollingRestartRunning)} == 1))`, 'running for']] }),
    st({ title: 'Healthy workers', description: 'Capacity left while one worker drains.', unit: 'none', targets: [[`sum(${s(METRIC.workerHealthy)})`, 'healthy']] }),
    ts({ title: 'Restart progress', description: 'Running (0/1) and workers done over time.', unit: 'none', min: 0,
      targets: [[s(METRIC.rollingRestartRunning), 'running {{instance}}'], [s(METRIC.rollingRestartWorkersDone), 'done {{instance}}']] }),
    row('Capacity and errors during the restart'),
    ts({ title: 'In flight per worker', description: 'A draining worker goes to 0, then comes back after its restart.', unit: 'none', min: 0, targets: [[s(METRIC.workerInFlight, WORKER), '{{worker}}']] }),
    ts({ title: 'Worker healthy', description: '1 healthy, 0 not.', unit: 'none', min: 0, max: 1, targets: [[s(METRIC.workerHealthy, WORKER), '{{worker}}']] }),
    ts({ title: 'Errors and retries', description: '5xx responses and retries per second: a clean rolling restart shows neither.', unit: 'reqps', min: 0,
      targets: [[`sum(${rate(METRIC.httpRequests, `${INST}, status=~"5.."`)})`, '5xx'], [`sum(${rate(METRIC.retries)})`, 'retries']] }),
  ], true);
}

function kvMemory(): Dashboard {
  return dashboard('mlx-serving-kv', 'mlx-serving / KV memory', 'KV cache use per worker against the configured watermark (memory.watermarkFraction).', [
    row('KV cache'),
    ts({ title: 'KV used vs watermark', description: 'Used / capacity per worker; the dashed series is memory.watermarkFraction (admission stops above it).', unit: 'percentunit', min: 0, max: 1,
      targets: [[s(METRIC.workerKvUsedRatio, WORKER), '{{worker}}'], [`max(${s(METRIC.kvWatermarkRatio)})`, 'watermark']] }),
    ts({ title: 'KV used over the watermark', description: 'Recording rule mlx_serving:worker_kv_used_over_watermark:ratio: 1 = at the watermark (alert MlxServingKvNearWatermark above 0.95 for 5 min).', unit: 'percentunit', min: 0,
      targets: [['mlx_serving:worker_kv_used_over_watermark:ratio{instance=~"$instance", worker=~"$worker"}', '{{worker}}']] }),
    ts({ title: 'KV bytes', description: 'Runtime KV cache bytes in use per worker.', unit: 'bytes', min: 0, targets: [[s(METRIC.workerKvUsedBytes, WORKER), '{{worker}}']] }),
    ts({ title: 'Concurrency limit', description: 'The in-flight limit per worker: the adaptive limit comes down when KV fills.', unit: 'none', min: 0,
      targets: [[s(METRIC.workerConcurrencyLimit, WORKER), '{{worker}}']] }),
    ...processRow(),
  ], true);
}

/** Burn rates (error ratio / 1 % budget) over the four alert windows, and the two alert thresholds. */
function burnTargets(errorRatio: (window: string) => string): Target[] {
  const windows: Target[] = ['5m', '30m', '1h', '6h'].map((w) => [`${errorRatio(w)} / 0.01`, w]);
  return [...windows, ['vector(14.4)', 'page'], ['vector(6)', 'ticket']];
}

function latencySlos(): Dashboard {
  const ttftErr = (w: string) => `mlx_serving:ttft_slo_errors:ratio_rate${w}`;
  const itlErr = (w: string) => `mlx_serving:itl_slo_errors:ratio_rate${w}`;
  return dashboard('mlx-serving-slo', 'mlx-serving / Latency SLOs', 'TTFT, inter-token latency and end-to-end latency against the SLOs of deploy/prometheus/rules (TTFT <= 1 s and ITL <= 100 ms for 99 %).', [
    row('SLO compliance'),
    st({ title: 'TTFT within 1 s', description: 'Share of requests whose first token came within 1 s, over the range.', unit: 'percentunit',
      targets: [[`sum(${rate(`${METRIC.ttftSeconds}_bucket`, `${INST}, le="1"`)}) / sum(${rate(`${METRIC.ttftSeconds}_count`)})`, 'TTFT <= 1 s']] }),
    st({ title: 'ITL within 100 ms', description: 'Share of inter-token gaps of at most 100 ms.', unit: 'percentunit',
      targets: [[`sum(${rate(`${METRIC.interTokenSeconds}_bucket`, `${INST}, le="0.1"`)}) / sum(${rate(`${METRIC.interTokenSeconds}_count`)})`, 'ITL <= 100 ms']] }),
    st({ title: 'TTFT burn rate (1 h)', description: 'Error ratio / budget (1 %): 14.4 together with the 5 m window pages.', unit: 'none', targets: [[`${ttftErr('1h')} / 0.01`, 'burn 1h']] }),
    st({ title: 'ITL burn rate (1 h)', description: 'Error ratio / budget (1 %).', unit: 'none', targets: [[`${itlErr('1h')} / 0.01`, 'burn 1h']] }),
    ts({ title: 'TTFT burn rate', description: 'Burn rates of the TTFT SLO over the alert windows (recording rules). Lines: 14.4 (page), 6 (ticket).', unit: 'none', min: 0,
      targets: burnTargets(ttftErr) }),
    ts({ title: 'ITL burn rate', description: 'Burn rates of the ITL SLO over the alert windows (recording rules).', unit: 'none', min: 0,
      targets: burnTargets(itlErr) }),
    row('Latency'),
    ts({ title: 'TTFT', description: 'Time from arrival to the first token sent to the client.', unit: 's', min: 0, span: 8,
      targets: [[quantile(0.5, METRIC.ttftSeconds), 'p50'], [quantile(0.9, METRIC.ttftSeconds), 'p90'], [quantile(0.99, METRIC.ttftSeconds), 'p99']] }),
    ts({ title: 'Inter-token latency', description: 'Time between successive token writes to a streaming client.', unit: 's', min: 0, span: 8,
      targets: [[quantile(0.5, METRIC.interTokenSeconds), 'p50'], [quantile(0.9, METRIC.interTokenSeconds), 'p90'], [quantile(0.99, METRIC.interTokenSeconds), 'p99']] }),
    ts({ title: 'End to end', description: 'Arrival to last byte by route.', unit: 's', min: 0, span: 8,
      targets: [[quantile(0.5, METRIC.requestSeconds, ['route']), 'p50 {{route}}'], [quantile(0.99, METRIC.requestSeconds, ['route']), 'p99 {{route}}']] }),
  ], false);
}

/** File name → dashboard, in a fixed order. */
export function dashboards(): Record<string, Dashboard> {
  return {
    'fleet-overview.json': fleetOverview(),
    'cache-dedupe-coalescing.json': cacheDedupeCoalescing(),
    'batching-scheduler.json': batchingScheduler(),
    'worker-health.json': workerHealth(),
    'rolling-restarts.json': rollingRestarts(),
    'kv-memory.json': kvMemory(),
    'latency-slos.json': latencySlos(),
  };
}

/** The committed form of a dashboard: 2-space JSON and a final newline. */
export function render(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

export const GRAFANA_DIR = dirname(fileURLToPath(import.meta.url));

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, d] of Object.entries(dashboards())) writeFileSync(join(GRAFANA_DIR, file), render(d));
  process.stdout.write(`wrote ${Object.keys(dashboards()).length} dashboards to ${GRAFANA_DIR}\n`);
}
