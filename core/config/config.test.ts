// Config resolution: defaults filled in, every field range-checked with an error naming the field
// path and the allowed range, unknown fields refused, tagged-union variants.
import { describe, expect, it } from 'vitest';
import { ConfigError, checkInteger, checkNumber, checkOneOf } from './config-error.js';
import { DEFAULT_BATCHING, DEFAULT_GATEWAY_CONFIG, DEFAULT_ROUTING } from './defaults.js';
import { resolveGatewayConfig } from './validate.js';

/** The ConfigError thrown by `f`, or a failed assertion if it throws nothing or something else. */
function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('resolveGatewayConfig: defaults', () => {
  it('an empty or missing config resolves to the defaults', () => {
    expect(resolveGatewayConfig({})).toEqual(DEFAULT_GATEWAY_CONFIG);
    expect(resolveGatewayConfig()).toEqual(DEFAULT_GATEWAY_CONFIG);
  });

  it('the defaults carry the design numbers', () => {
    const d = resolveGatewayConfig({});
    expect(d.routing).toEqual({ type: 'session-affinity', overloadFraction: 0.9 });
    expect(d.breaker).toMatchObject({ timeoutMs: 10_000, errorRateMax: 0.1, errorWindowMs: 30_000, healthFailuresMax: 3, cooldownMs: 60_000 });
    expect(d.caching.dedupe.ttlMs).toBe(1000);
    expect(d.caching.responseCache.entriesMax).toBe(10_000);
    expect(d.memory).toMatchObject({ watermarkFraction: 0.8, modelsPerWorkerMax: 2 });
    expect(d.health).toEqual({ heartbeatIntervalMs: 5000, missesMax: 3 });
  });

  it('a partial section keeps the defaults of the fields it does not name', () => {
    const c = resolveGatewayConfig({ breaker: { cooldownMs: 5000 }, caching: { dedupe: { ttlMs: 250 } } });
    expect(c.breaker).toEqual({ ...DEFAULT_GATEWAY_CONFIG.breaker, cooldownMs: 5000 });
    expect(c.caching.dedupe).toEqual({ ...DEFAULT_GATEWAY_CONFIG.caching.dedupe, ttlMs: 250 });
    expect(c.caching.responseCache).toEqual(DEFAULT_GATEWAY_CONFIG.caching.responseCache);
    expect(c.retry).toEqual(DEFAULT_GATEWAY_CONFIG.retry);
  });

  it('does not mutate the defaults', () => {
    const before = JSON.stringify(DEFAULT_GATEWAY_CONFIG);
    resolveGatewayConfig({ breaker: { cooldownMs: 1 }, routing: { type: 'round-robin' } });
    expect(JSON.stringify(DEFAULT_GATEWAY_CONFIG)).toBe(before);
  });
});

describe('resolveGatewayConfig: invalid values', () => {
  it('names the field path and the allowed range', () => {
    const e = configError(() => resolveGatewayConfig({ breaker: { cooldownMs: -1 } }));
    expect(e.field).toBe('breaker.cooldownMs');
    expect(e.message).toContain('breaker.cooldownMs');
    expect(e.message).toContain('[0, 86400000]');
    expect(e.message).toContain('-1');
  });

  it.each([
    [{ breaker: { errorRateMax: 1.5 } }, 'breaker.errorRateMax', '[0, 1]'],
    [{ breaker: { halfOpenProbesMax: 0 } }, 'breaker.halfOpenProbesMax', '[1, 1000]'],
    [{ breaker: { volumeMin: 2.5 } }, 'breaker.volumeMin', 'integer'],
    [{ retry: { attemptsMax: 11 } }, 'retry.attemptsMax', '[1, 10]'],
    [{ memory: { watermarkFraction: 0 } }, 'memory.watermarkFraction', '[0.05, 1]'],
    [{ memory: { kvPrecision: 'fp8' } }, 'memory.kvPrecision', 'fp16, int8, int4'],
    [{ health: { missesMax: 0 } }, 'health.missesMax', '[1, 100]'],
    [{ caching: { dedupe: { ttlMs: 'soon' } } }, 'caching.dedupe.ttlMs', 'finite number'],
    [{ caching: { coalescing: { enabled: 'yes' } } }, 'caching.coalescing.enabled', 'true or false'],
    [{ caching: { shareNondeterministic: 1 } }, 'caching.shareNondeterministic', 'true or false'],
    [{ admission: { maxConcurrentPerWorker: Number.POSITIVE_INFINITY } }, 'admission.maxConcurrentPerWorker', 'finite'],
    [{ requestsInFlightMax: 0 }, 'requestsInFlightMax', '[1, 100000000]'],
    [{ routing: { type: 'session-affinity', overloadFraction: -0.1 } }, 'routing.overloadFraction', '[0, 10]'],
    [{ routing: { type: 'latency-aware', ewmaAlpha: 0 } }, 'routing.ewmaAlpha', '[0.001, 1]'],
    [{ batching: { type: 'micro', windowMs: 5000 } }, 'batching.windowMs', '[0, 1000]'],
    [{ batching: { type: 'adaptive', perModel: { big: { maxBatchSize: 0 } } } }, 'batching.perModel.big.maxBatchSize', '[1, 1024]'],
  ])('%j → %s', (input, field, range) => {
    const e = configError(() => resolveGatewayConfig(input));
    expect(e.field).toBe(field);
    expect(e.message).toContain(field);
    expect(e.message).toContain(range);
  });

  it('checks relations between fields', () => {
    expect(configError(() => resolveGatewayConfig({ retry: { baseDelayMs: 500, capDelayMs: 100 } })).field).toBe('retry.capDelayMs');
    expect(configError(() => resolveGatewayConfig({ batching: { type: 'adaptive', minBatchSize: 8, maxBatchSize: 4 } })).field).toBe('batching.minBatchSize');
  });

  it('a section that is not an object is rejected', () => {
    expect(configError(() => resolveGatewayConfig({ breaker: [] })).field).toBe('breaker');
    expect(configError(() => resolveGatewayConfig({ retry: 3 })).field).toBe('retry');
    expect(configError(() => resolveGatewayConfig('config')).field).toBe('config');
    expect(configError(() => resolveGatewayConfig(null)).field).toBe('config');
  });
});

describe('resolveGatewayConfig: unknown fields', () => {
  it.each([
    [{ nonsense: 1 }, 'config.nonsense'],
    [{ breaker: { cooldownSeconds: 60 } }, 'breaker.cooldownSeconds'],
    [{ caching: { dedupe: { ttl: 1000 } } }, 'caching.dedupe.ttl'],
    [{ caching: { extra: {} } }, 'caching.extra'],
    [{ routing: { type: 'round-robin', overloadFraction: 0.5 } }, 'routing.overloadFraction'],
    [{ batching: { type: 'adaptive', perModel: { m: { windowMs: 3 } } } }, 'batching.perModel.m.windowMs'],
  ])('%j is refused as %s', (input, field) => {
    const e = configError(() => resolveGatewayConfig(input));
    expect(e.field).toBe(field);
    expect(e.message).toMatch(/not a known field/);
  });
});

describe('resolveGatewayConfig: tagged-union variants', () => {
  it('each routing type resolves with its own defaults', () => {
    for (const [type, defaults] of Object.entries(DEFAULT_ROUTING)) {
      expect(resolveGatewayConfig({ routing: { type } }).routing).toEqual(defaults);
    }
  });

  it('each batching type resolves with its own defaults', () => {
    for (const [type, defaults] of Object.entries(DEFAULT_BATCHING)) {
      expect(resolveGatewayConfig({ batching: { type } }).batching).toEqual(defaults);
    }
  });

  it('variant fields override the variant defaults', () => {
    expect(resolveGatewayConfig({ routing: { type: 'prefix-aware', minMatchBlocks: 4 } }).routing).toEqual({ ...DEFAULT_ROUTING['prefix-aware'], minMatchBlocks: 4 });
    expect(resolveGatewayConfig({ batching: { type: 'adaptive', perModel: { big: { maxBatchSize: 2 } } } }).batching).toMatchObject({ type: 'adaptive', perModel: { big: { maxBatchSize: 2 } } });
  });

  it('without a type, fields apply to the default variant', () => {
    expect(resolveGatewayConfig({ routing: { overloadFraction: 0.5 } }).routing).toEqual({ type: 'session-affinity', overloadFraction: 0.5 });
  });

  it('an unknown type is rejected with the list of types', () => {
    const e = configError(() => resolveGatewayConfig({ routing: { type: 'random' } }));
    expect(e.field).toBe('routing.type');
    expect(e.message).toContain('session-affinity');
    expect(e.message).toContain('prefix-aware');
  });

  it('a field of another variant is refused', () => {
    expect(configError(() => resolveGatewayConfig({ routing: { type: 'latency-aware', minMatchBlocks: 2 } })).field).toBe('routing.minMatchBlocks');
    expect(configError(() => resolveGatewayConfig({ batching: { type: 'none', windowMs: 5 } })).field).toBe('batching.windowMs');
  });
});

describe('check helpers', () => {
  it('checkNumber, checkInteger and checkOneOf return valid values and throw ConfigError otherwise', () => {
    expect(checkNumber('f', 0.5, 0, 1)).toBe(0.5);
    expect(checkInteger('f', 3, 1)).toBe(3);
    expect(checkOneOf('f', 'a', ['a', 'b'])).toBe('a');
    expect(() => checkNumber('f', Number.NaN, 0)).toThrow(ConfigError);
    expect(() => checkNumber('f', '1', 0)).toThrow(ConfigError);
    expect(() => checkInteger('f', 1.5, 0)).toThrow(/integer/);
    expect(() => checkOneOf('f', 'c', ['a', 'b'])).toThrow(/one of a, b/);
  });
});

describe('config: admission.adaptive', () => {
  it('is off by default, with its defaults filled in when only some fields are given', () => {
    expect(resolveGatewayConfig().admission.adaptive).toEqual({ enabled: false, targetMsPerToken: 50, minConcurrent: 4, decreaseFactor: 0.9, increasePerRoundTrip: 1 });
    const a = resolveGatewayConfig({ admission: { adaptive: { enabled: true, targetMsPerToken: 30 } } }).admission;
    expect(a.adaptive).toEqual({ ...DEFAULT_GATEWAY_CONFIG.admission.adaptive, enabled: true, targetMsPerToken: 30 });
    expect(a.maxConcurrentPerWorker).toBe(DEFAULT_GATEWAY_CONFIG.admission.maxConcurrentPerWorker);
  });

  it('names the field path and the range, and refuses unknown fields', () => {
    expect(configError(() => resolveGatewayConfig({ admission: { adaptive: { decreaseFactor: 1 } } })).field).toBe('admission.adaptive.decreaseFactor');
    expect(configError(() => resolveGatewayConfig({ admission: { adaptive: { decreaseFactor: 1 } } })).message).toMatch(/\[0\.05, 0\.99\]/);
    expect(configError(() => resolveGatewayConfig({ admission: { adaptive: { minConcurrent: 0 } } })).field).toBe('admission.adaptive.minConcurrent');
    expect(configError(() => resolveGatewayConfig({ admission: { adaptive: { targetMsPerToken: -1 } } })).field).toBe('admission.adaptive.targetMsPerToken');
    expect(configError(() => resolveGatewayConfig({ admission: { adaptive: { enabled: 'yes' } } })).field).toBe('admission.adaptive.enabled');
    expect(configError(() => resolveGatewayConfig({ admission: { adaptive: { target: 50 } } })).field).toBe('admission.adaptive.target');
    expect(configError(() => resolveGatewayConfig({ admission: { adaptive: 5 } })).field).toBe('admission.adaptive');
  });

  it('when enabled, minConcurrent may not exceed maxConcurrentPerWorker', () => {
    const e = configError(() => resolveGatewayConfig({ admission: { maxConcurrentPerWorker: 2, adaptive: { enabled: true, minConcurrent: 4 } } }));
    expect(e.field).toBe('admission.adaptive.minConcurrent');
    // off, the adaptive fields do not constrain the static limit
    expect(resolveGatewayConfig({ admission: { maxConcurrentPerWorker: 2 } }).admission.maxConcurrentPerWorker).toBe(2);
  });
});

describe('resolveGatewayConfig: canary', () => {
  const llama = (m: Record<string, unknown>) => ({ canary: { models: { llama: m } } });
  it('resolves versions with weights; the stable version defaults to the first', () => {
    const c = resolveGatewayConfig(llama({ versions: [{ version: 'v1', weight: 95 }, { version: 'v2', weight: 5 }] })).canary;
    expect(c.models.llama).toEqual({ stable: 'v1', versions: [{ version: 'v1', weight: 95 }, { version: 'v2', weight: 5 }] });
    expect(c).toMatchObject({ maxErrorRateDelta: 0.05, maxLatencyRatio: 1.5, minRequests: 20, windowMs: 60_000 });
  });
  it('names the bad field', () => {
    const field = (input: unknown) => configError(() => resolveGatewayConfig(input)).field;
    expect(field(llama({ versions: [{ version: 'v1', weight: -1 }] }))).toBe('canary.models.llama.versions[0].weight');
    expect(field(llama({ versions: [{ version: 'v 1', weight: 1 }] }))).toBe('canary.models.llama.versions[0].version');
    expect(field(llama({ versions: [{ version: 'v1', weight: 1, path: '/m' }] }))).toBe('canary.models.llama.versions[0].path');
    expect(field(llama({ versions: [] }))).toBe('canary.models.llama.versions');
    expect(field(llama({ versions: [{ version: 'v1', weight: 1 }, { version: 'v1', weight: 2 }] }))).toBe('canary.models.llama.versions');
    expect(field(llama({ versions: [{ version: 'v1', weight: 0 }] }))).toBe('canary.models.llama.versions');
    expect(field(llama({ stable: 'v3', versions: [{ version: 'v1', weight: 1 }] }))).toBe('canary.models.llama.stable');
    expect(field({ canary: { models: { 'llama@v1': { versions: [{ version: 'v1', weight: 1 }] } } } })).toBe('canary.models.llama@v1');
    expect(field({ canary: { maxLatencyRatio: 0.5 } })).toBe('canary.maxLatencyRatio');
    expect(field({ canary: { minRequests: 0 } })).toBe('canary.minRequests');
  });
});
