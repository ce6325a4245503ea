// Turns an untrusted partial config (a JSON file, a scenario) into a full GatewayConfig: defaults
// filled in, every field checked, unknown fields refused. Errors name the field path and the range.
import { checkInteger, checkNumber, checkOneOf, ConfigError } from './config-error.js';
import { DEFAULT_BATCHING, DEFAULT_GATEWAY_CONFIG, DEFAULT_ROUTING } from './defaults.js';
import type { BatchingConfig, CanaryConfig, CatalogEntry, GatewayConfig, RoutingConfig } from './types.js';

type Rule = (field: string, value: unknown) => unknown;
const num = (min: number, max = Infinity): Rule => (f, v) => checkNumber(f, v, min, max);
const int = (min: number, max = Number.MAX_SAFE_INTEGER): Rule => (f, v) => checkInteger(f, v, min, max);
const bool: Rule = (f, v) => {
  if (typeof v !== 'boolean') throw new ConfigError(f, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
};
const optional = (rule: Rule): Rule => (f, v) => (v === undefined || v === null ? undefined : rule(f, v));
const oneOf = (...allowed: string[]): Rule => (f, v) => checkOneOf(f, v, allowed);

/** Field rules per section (routing and batching are per variant, below). */
const RULES: Record<string, Record<string, Rule>> = {
  'caching.dedupe': { enabled: bool, ttlMs: num(0, 3_600_000), entriesMax: int(1, 10_000_000) },
  'caching.responseCache': { enabled: bool, entriesMax: int(1, 10_000_000), ttlMs: optional(num(0)) },
  'caching.coalescing': { enabled: bool, followerTimeoutMs: num(1, 3_600_000), followersMax: int(1, 100_000), groupsMax: int(1, 10_000_000) },
  breaker: {
    enabled: bool, timeoutMs: num(1, 3_600_000), errorRateMax: num(0, 1), errorWindowMs: num(1000, 3_600_000),
    volumeMin: int(1), healthFailuresMax: int(1, 1000), cooldownMs: num(0, 86_400_000), halfOpenProbesMax: int(1, 1000),
  },
  retry: { attemptsMax: int(1, 10), baseDelayMs: num(0, 60_000), capDelayMs: num(0, 600_000), budgetTokensMax: num(1), budgetTokenRatio: num(0, 1) },
  rateLimit: { enabled: bool, requestsPerMinute: num(1), tokensPerMinute: num(1), keysMax: int(1, 10_000_000), tenants: (f, v) => checkTenantLimits(f, v) },
  admission: {
    maxConcurrentPerWorker: int(1, 10_000), queueMax: int(0, 10_000_000), queueTimeoutMs: num(1, 3_600_000), earlyRefusalFactor: num(0, 100),
    adaptive: (f, v) => section(f, v, DEFAULT_GATEWAY_CONFIG.admission.adaptive),
  },
  'admission.adaptive': {
    enabled: bool, targetMsPerToken: num(0.1, 600_000), minConcurrent: int(1, 10_000), decreaseFactor: num(0.05, 0.99), increasePerRoundTrip: num(0.01, 1000),
  },
  memory: {
    kvPrecision: oneOf('fp16', 'int8', 'int4'), watermarkFraction: num(0.05, 1), modelsPerWorkerMax: int(1, 64),
    idleUnloadMs: num(0), idleSessionsMax: int(1, 10_000_000), warmupPoolFraction: num(0, 0.5), warmupRefillMs: num(0, 600_000),
  },
  health: { heartbeatIntervalMs: num(10, 3_600_000), missesMax: int(1, 100) },
  fairness: { enabled: bool, weights: (f, v) => checkWeights(f, v), defaultWeight: num(0.001, 1_000_000) },
  canary: {
    maxErrorRateDelta: num(0, 1), maxLatencyRatio: num(1, 1000), minRequests: int(1, 1_000_000), windowMs: num(1000, 86_400_000),
    evaluateEveryMs: num(1, 3_600_000), models: (f, v) => checkCanaryModels(f, v),
  },
  scaling: {
    enabled: bool, windowMs: num(1000, 3_600_000), targetUtilisation: num(0.05, 1), backlogDrainMs: num(1000, 3_600_000),
    scaleDownStabilisationMs: num(0, 86_400_000), minWorkers: int(0, 100_000), maxWorkers: int(1, 100_000),
  },
};

const ROUTING_RULES: Record<RoutingConfig['type'], Record<string, Rule>> = {
  'session-affinity': { overloadFraction: num(0, 10) },
  'round-robin': {},
  'least-loaded': {},
  'power-of-two': {},
  'latency-aware': { ewmaAlpha: num(0.001, 1) },
  'prefix-aware': { blocksMax: int(1, 100_000_000), minMatchBlocks: int(1, 100_000), balanceAbsThreshold: num(0), balanceRelThreshold: num(1) },
};

const BATCHING_RULES: Record<BatchingConfig['type'], Record<string, Rule>> = {
  none: {},
  micro: { windowMs: num(0, 1000), maxBatchSize: int(1, 1024), dispatchWhenIdle: bool },
  adaptive: { dispatchWhenIdle: bool, minBatchSize: int(1, 1024), maxBatchSize: int(1, 1024), latencyBudgetMs: num(1, 600_000), windowMsMax: num(0, 1000), perModel: (f, v) => checkPerModel(f, v) },
};

export function resolveGatewayConfig(input: unknown = {}): GatewayConfig {
  const root = asObject('config', input);
  const d = DEFAULT_GATEWAY_CONFIG;
  rejectUnknown('config', root, Object.keys(d));
  const caching = asObject('caching', root.caching ?? {});
  rejectUnknown('caching', caching, Object.keys(d.caching));
  const cfg: GatewayConfig = {
    routing: resolveVariant('routing', root.routing, d.routing, DEFAULT_ROUTING, ROUTING_RULES) as RoutingConfig,
    batching: resolveVariant('batching', root.batching, d.batching, DEFAULT_BATCHING, BATCHING_RULES) as BatchingConfig,
    caching: {
      dedupe: section('caching.dedupe', caching.dedupe, d.caching.dedupe),
      responseCache: section('caching.responseCache', caching.responseCache, d.caching.responseCache),
      coalescing: section('caching.coalescing', caching.coalescing, d.caching.coalescing),
      shareNondeterministic: bool('caching.shareNondeterministic', caching.shareNondeterministic ?? d.caching.shareNondeterministic) as boolean,
    },
    breaker: section('breaker', root.breaker, d.breaker),
    retry: section('retry', root.retry, d.retry),
    rateLimit: section('rateLimit', root.rateLimit, d.rateLimit),
    admission: section('admission', root.admission, d.admission),
    memory: section('memory', root.memory, d.memory),
    health: section('health', root.health, d.health),
    scaling: section('scaling', root.scaling, d.scaling),
    fairness: section('fairness', root.fairness, d.fairness),
    canary: section('canary', root.canary, d.canary),
    catalog: checkCatalog('catalog', root.catalog),
    requestsInFlightMax: checkInteger('requestsInFlightMax', root.requestsInFlightMax ?? d.requestsInFlightMax, 1, 100_000_000),
    preferWarm: bool('preferWarm', root.preferWarm ?? d.preferWarm) as boolean,
  };
  if (cfg.retry.capDelayMs < cfg.retry.baseDelayMs) throw new ConfigError('retry.capDelayMs', `must be ≥ retry.baseDelayMs (${cfg.retry.baseDelayMs})`);
  if (cfg.batching.type === 'adaptive' && cfg.batching.minBatchSize > cfg.batching.maxBatchSize) {
    throw new ConfigError('batching.minBatchSize', `must be ≤ batching.maxBatchSize (${cfg.batching.maxBatchSize})`);
  }
  if (cfg.admission.adaptive.enabled && cfg.admission.adaptive.minConcurrent > cfg.admission.maxConcurrentPerWorker) {
    throw new ConfigError('admission.adaptive.minConcurrent', `must be ≤ admission.maxConcurrentPerWorker (${cfg.admission.maxConcurrentPerWorker})`);
  }
  if (cfg.scaling.minWorkers > cfg.scaling.maxWorkers) throw new ConfigError('scaling.minWorkers', `must be ≤ scaling.maxWorkers (${cfg.scaling.maxWorkers})`);
  return cfg;
}

function section<T extends object>(path: string, value: unknown, defaults: T): T {
  const obj = asObject(path, value ?? {});
  const rules = RULES[path]!;
  rejectUnknown(path, obj, Object.keys(rules));
  const base = defaults as Record<string, unknown>;
  const out: Record<string, unknown> = { ...base };
  for (const [k, rule] of Object.entries(rules)) {
    const v = k in obj ? obj[k] : base[k];
    out[k] = rule(`${path}.${k}`, v);
  }
  return out as unknown as T;
}

function resolveVariant<T extends { type: string }>(
  path: string,
  value: unknown,
  fallback: T,
  defaults: Record<string, T>,
  rules: Record<string, Record<string, Rule>>,
): T {
  if (value === undefined) return fallback;
  const obj = asObject(path, value);
  const type = checkOneOf(`${path}.type`, obj.type ?? fallback.type, Object.keys(rules));
  const fieldRules = rules[type]!;
  rejectUnknown(path, obj, ['type', ...Object.keys(fieldRules)]);
  const base = defaults[type] as Record<string, unknown>;
  const out: Record<string, unknown> = { type };
  for (const [k, rule] of Object.entries(fieldRules)) out[k] = rule(`${path}.${k}`, k in obj ? obj[k] : base[k]);
  return out as T;
}

function checkPerModel(field: string, value: unknown): Record<string, { maxBatchSize?: number; latencyBudgetMs?: number }> {
  const obj = asObject(field, value ?? {});
  const out: Record<string, { maxBatchSize?: number; latencyBudgetMs?: number }> = {};
  for (const [model, o] of Object.entries(obj)) {
    const entry = asObject(`${field}.${model}`, o);
    rejectUnknown(`${field}.${model}`, entry, ['maxBatchSize', 'latencyBudgetMs']);
    out[model] = {
      ...(entry.maxBatchSize !== undefined && { maxBatchSize: checkInteger(`${field}.${model}.maxBatchSize`, entry.maxBatchSize, 1, 1024) }),
      ...(entry.latencyBudgetMs !== undefined && { latencyBudgetMs: checkNumber(`${field}.${model}.latencyBudgetMs`, entry.latencyBudgetMs, 1, 600_000) }),
    };
  }
  return out;
}

function checkTenantLimits(field: string, value: unknown): Record<string, { requestsPerMinute: number; tokensPerMinute: number }> {
  const obj = asObject(field, value ?? {});
  const entries = Object.entries(obj);
  if (entries.length > 10_000) throw new ConfigError(field, 'must name at most 10000 tenants');
  return Object.fromEntries(entries.map(([tenant, l]) => {
    const o = asObject(`${field}.${tenant}`, l);
    rejectUnknown(`${field}.${tenant}`, o, ['requestsPerMinute', 'tokensPerMinute']);
    return [tenant, { requestsPerMinute: checkNumber(`${field}.${tenant}.requestsPerMinute`, o.requestsPerMinute, 1, Number.MAX_SAFE_INTEGER), tokensPerMinute: checkNumber(`${field}.${tenant}.tokensPerMinute`, o.tokensPerMinute, 1, Number.MAX_SAFE_INTEGER) }];
  }));
}

/** A model's versions: names without `@`, unique, weights ≥ 0 not all 0, the stable one among them. */
function checkCanaryModels(field: string, value: unknown): CanaryConfig['models'] {
  const obj = asObject(field, value ?? {});
  const entries = Object.entries(obj);
  if (entries.length > 1000) throw new ConfigError(field, 'must name at most 1000 models');
  return Object.fromEntries(entries.map(([model, m]) => {
    const path = `${field}.${model}`;
    if (model.length === 0 || model.includes('@')) throw new ConfigError(path, 'must be a model name without "@" (a version is served as <name>@<version>)');
    const o = asObject(path, m);
    rejectUnknown(path, o, ['stable', 'versions']);
    if (!Array.isArray(o.versions) || o.versions.length < 1 || o.versions.length > 16) throw new ConfigError(`${path}.versions`, 'must be an array of 1 to 16 versions');
    const versions = o.versions.map((v: unknown, i: number) => {
      const vp = `${path}.versions[${i}]`;
      const e = asObject(vp, v);
      rejectUnknown(vp, e, ['version', 'weight']);
      if (typeof e.version !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(e.version)) throw new ConfigError(`${vp}.version`, `must be 1 to 64 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(e.version)}`);
      return { version: e.version, weight: checkNumber(`${vp}.weight`, e.weight, 0, 1_000_000) };
    });
    const names = versions.map((v) => v.version);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw new ConfigError(`${path}.versions`, `names version ${dup} twice`);
    if (versions.every((v) => v.weight === 0)) throw new ConfigError(`${path}.versions`, 'must give some version a weight > 0');
    const stable = o.stable ?? names[0];
    if (typeof stable !== 'string' || !names.includes(stable)) throw new ConfigError(`${path}.stable`, `must be one of its versions (${names.join(', ')}), got ${JSON.stringify(stable)}`);
    return [model, { stable, versions }];
  }));
}

/** The model catalog: per model id (non-empty) a path (non-empty string) and a size in bytes (integer ≥ 0). */
function checkCatalog(field: string, value: unknown): Record<string, CatalogEntry> {
  const obj = asObject(field, value ?? {});
  const entries = Object.entries(obj);
  if (entries.length > 10_000) throw new ConfigError(field, 'must name at most 10000 models');
  return Object.fromEntries(entries.map(([model, e]) => {
    const path = `${field}.${model}`;
    if (model.trim().length === 0) throw new ConfigError(path, 'must be a non-empty model id');
    const o = asObject(path, e);
    rejectUnknown(path, o, ['path', 'bytes']);
    if (typeof o.path !== 'string' || o.path.length === 0 || o.path.length > 4096) throw new ConfigError(`${path}.path`, `must be a non-empty string of at most 4096 characters, got ${JSON.stringify(o.path)}`);
    return [model, { path: o.path, bytes: checkInteger(`${path}.bytes`, o.bytes, 0, Number.MAX_SAFE_INTEGER) }];
  }));
}

function checkWeights(field: string, value: unknown): Record<string, number> {
  const obj = asObject(field, value ?? {});
  const entries = Object.entries(obj);
  if (entries.length > 10_000) throw new ConfigError(field, 'must name at most 10000 tenants');
  return Object.fromEntries(entries.map(([tenant, w]) => [tenant, checkNumber(`${field}.${tenant}`, w, 0.001, 1_000_000)]));
}

function asObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(field, `must be an object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

function rejectUnknown(path: string, obj: Record<string, unknown>, known: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new ConfigError(`${path}.${k}`, `is not a known field (known: ${known.join(', ')})`);
  }
}
