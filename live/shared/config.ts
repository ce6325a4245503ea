// The live gateway's configuration: one JSON file, validated at start. Every error names the field
// (`invalid config: limits.bodyLimitBytes must be …`). The `core` section is the gateway core's own
// config, resolved and checked by core's resolveGatewayConfig; everything else is the HTTP/gRPC shell.
import { readFileSync } from 'node:fs';
import { ConfigError, resolveGatewayConfig, type GatewayConfig } from '../../core/index.js';
import { resolveAuth } from './auth-config.js';
import { arr, int, known, obj, oneOf, str } from './config-fields.js';

export interface JwtConfig {
  /** Shared secret for HS256 tokens. */
  readonly hs256Secret?: string;
  /** SPKI PEM public key for RS256 tokens. */
  readonly rs256PublicKeyPem?: string;
  /** Required `aud` claim, when set. */
  readonly audience?: string;
  /** Required `iss` claim, when set. */
  readonly issuer?: string;
  /** The claim that names a token's role (user, operator or admin); absent: every JWT is a user. */
  readonly roleClaim?: string;
  /** The roles a token may name in roleClaim (default: user only). A token naming another is refused. */
  readonly roles?: readonly ('user' | 'operator' | 'admin')[];
}

export interface AuthConfig {
  readonly apiKeys: readonly string[];
  /**
   * Tenants and their API keys (fairness between tenants: core.fairness). A JWT whose `tenant` claim
   * names one of them belongs to it; any other credential to the default tenant.
   */
  readonly tenants?: Readonly<Record<string, { readonly apiKeys: readonly string[] }>>;
  /** Key for /admin/*; also accepted on the inference API. */
  readonly adminKey?: string;
  /** Keys of the operator role: the admin API's operations, not its usage and audit records (live/gateway/roles.ts). */
  readonly operatorKeys?: readonly string[];
  readonly jwt?: JwtConfig;
}

export interface LimitsConfig {
  readonly bodyLimitBytes: number;
  /** Wall time a request may take from arrival to its last byte; past it: 504 (or an SSE error). */
  readonly requestTimeoutMs: number;
  /** Bytes a slow SSE client may leave unread before its request is cancelled. */
  readonly sseBufferBytesMax: number;
  /** max_tokens when the client gives none, and the largest it may ask for. */
  readonly defaultMaxTokens: number;
  readonly maxTokensMax: number;
  /** Graceful shutdown: in-flight requests get this long to finish before connections are cut. */
  readonly shutdownTimeoutMs: number;
  /** Inputs per /v1/embeddings call. */
  readonly embeddingInputsMax: number;
  /** Messages per chat request (param `messages`). */
  readonly messagesMax: number;
  /** Estimated prompt tokens (UTF-8 bytes / 3 of the rendered prompt: core/tokens/estimate.ts) per request (param `messages` / `prompt`). */
  readonly promptTokensMax: number;
  /** Stop sequences per request and characters per stop sequence (param `stop`). */
  readonly stopSequencesMax: number;
  readonly stopLengthMax: number;
  /** Slow-loris guards: a client must send its request headers within headersTimeoutMs and the whole
   *  request (headers and body) within receiveTimeoutMs of connecting/starting it, else 408 and the
   *  connection is closed. Checked every min(1 s, headersTimeoutMs / 4). */
  readonly headersTimeoutMs: number;
  readonly receiveTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (Node's server.keepAliveTimeout; Fastify's
   *  default is 72 s, above common load balancers' 60 s idle timeout, so the gateway never closes a
   *  connection a balancer is about to reuse). */
  readonly keepAliveTimeoutMs: number;
}

export interface WorkerEndpoint {
  readonly id: string;
  /** "unix:///abs/path.sock" (same machine) or "host:port" (TCP). */
  readonly address: string;
}

export interface GrpcLinkConfig {
  /** Session stream reconnect backoff: base·2^attempt capped at max. */
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  /** Deadline of unary calls (Stats, Embed, admin). */
  readonly unaryTimeoutMs: number;
}

/** Where workers come from besides `workers`: nothing else (static), or a NATS JetStream registry (live/registry). */
export type RegistryConfig =
  | { readonly type: 'static' }
  | { readonly type: 'nats'; readonly url: string; readonly bucket?: string; readonly missesMax?: number };

/** A model's price per million tokens (usage.costs), in whatever unit the table is written in. */
export interface ModelCost {
  readonly promptPerMillionTokens: number;
  readonly completionPerMillionTokens: number;
}

/** Usage accounting per tenant (live/usage/usage-ledger.ts). */
export interface UsageConfig {
  /** The database file; absent: in memory only (lost at exit). */
  readonly path?: string;
  readonly flushMs: number;
  readonly costs: Readonly<Record<string, ModelCost>>;
  /** Tokens (prompt + completion) a tenant may use per UTC calendar month; past it: 429 insufficient_quota. */
  readonly budgets: Readonly<Record<string, { readonly tokensPerMonth: number }>>;
  /** Usage and budgets across several gateways, through a NATS JetStream KV bucket (live/usage/shared-usage.ts). */
  readonly shared?: SharedUsageConfig;
}

export interface SharedUsageConfig {
  /** The NATS server (nats://…). */
  readonly url: string;
  /** The KV bucket (default mlx_serving_usage). */
  readonly bucket: string;
  /** This gateway's name in the bucket: stable across restarts, unique in the fleet. */
  readonly gatewayId: string;
  /** How often this gateway publishes its counts (default 1000 ms). */
  readonly syncMs: number;
}

export interface LiveGatewayConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly auth: AuthConfig;
  readonly limits: LimitsConfig;
  readonly workers: readonly WorkerEndpoint[];
  readonly registry: RegistryConfig;
  readonly grpc: GrpcLinkConfig;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly core: GatewayConfig;
  /** Usage accounting per tenant (live/usage/usage-ledger.ts). */
  readonly usage: UsageConfig;
  /** The admin API's audit log (live/gateway/audit-log.ts): an append-only JSON-lines file, when set. */
  readonly audit: { readonly path?: string };
  /** Canary rollbacks and promotions shared with the other gateways through NATS KV (live/canary/shared-canary.ts). */
  readonly canaryShared?: CanarySharedConfig;
}

export interface CanarySharedConfig {
  /** The NATS server (nats://…). */
  readonly url: string;
  /** The KV bucket (default mlx_serving_canary). */
  readonly bucket: string;
  /** How often this gateway compares its decisions with what it last shared (default 500 ms). */
  readonly syncMs: number;
}

export const DEFAULT_LIMITS: LimitsConfig = {
  bodyLimitBytes: 1024 * 1024,
  requestTimeoutMs: 120_000,
  sseBufferBytesMax: 1024 * 1024,
  defaultMaxTokens: 256,
  maxTokensMax: 32_768,
  shutdownTimeoutMs: 30_000,
  embeddingInputsMax: 256,
  messagesMax: 1024,
  promptTokensMax: 131_072,
  stopSequencesMax: 4,
  stopLengthMax: 256,
  headersTimeoutMs: 10_000,
  receiveTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
};

export const DEFAULT_GRPC: GrpcLinkConfig = { reconnectBaseMs: 100, reconnectMaxMs: 5_000, unaryTimeoutMs: 10_000 };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Validates an untrusted object (parsed JSON) into a full config; throws ConfigError naming the field. */
export function resolveLiveConfig(input: unknown): LiveGatewayConfig {
  const root = obj('config', input);
  known('config', root, ['listen', 'auth', 'limits', 'workers', 'registry', 'grpc', 'logLevel', 'core', 'usage', 'audit', 'canaryShared']);
  const listen = obj('listen', root.listen ?? {});
  known('listen', listen, ['host', 'port']);
  const auth = obj('auth', root.auth ?? {});
  known('auth', auth, ['apiKeys', 'adminKey', 'operatorKeys', 'jwt', 'tenants']);
  const limits = obj('limits', root.limits ?? {});
  known('limits', limits, Object.keys(DEFAULT_LIMITS));
  const grpc = obj('grpc', root.grpc ?? {});
  known('grpc', grpc, Object.keys(DEFAULT_GRPC));

  const cfg: LiveGatewayConfig = {
    listen: { host: str('listen.host', listen.host ?? '127.0.0.1'), port: int('listen.port', listen.port ?? 8080, 0, 65_535) },
    auth: resolveAuth(auth),
    limits: {
      bodyLimitBytes: int('limits.bodyLimitBytes', limits.bodyLimitBytes ?? DEFAULT_LIMITS.bodyLimitBytes, 1024, 1024 ** 3),
      requestTimeoutMs: int('limits.requestTimeoutMs', limits.requestTimeoutMs ?? DEFAULT_LIMITS.requestTimeoutMs, 10, 3_600_000),
      sseBufferBytesMax: int('limits.sseBufferBytesMax', limits.sseBufferBytesMax ?? DEFAULT_LIMITS.sseBufferBytesMax, 1024, 1024 ** 3),
      defaultMaxTokens: int('limits.defaultMaxTokens', limits.defaultMaxTokens ?? DEFAULT_LIMITS.defaultMaxTokens, 1, 10_000_000),
      maxTokensMax: int('limits.maxTokensMax', limits.maxTokensMax ?? DEFAULT_LIMITS.maxTokensMax, 1, 10_000_000),
      shutdownTimeoutMs: int('limits.shutdownTimeoutMs', limits.shutdownTimeoutMs ?? DEFAULT_LIMITS.shutdownTimeoutMs, 0, 3_600_000),
      embeddingInputsMax: int('limits.embeddingInputsMax', limits.embeddingInputsMax ?? DEFAULT_LIMITS.embeddingInputsMax, 1, 100_000),
      messagesMax: int('limits.messagesMax', limits.messagesMax ?? DEFAULT_LIMITS.messagesMax, 1, 100_000),
      promptTokensMax: int('limits.promptTokensMax', limits.promptTokensMax ?? DEFAULT_LIMITS.promptTokensMax, 1, 100_000_000),
      stopSequencesMax: int('limits.stopSequencesMax', limits.stopSequencesMax ?? DEFAULT_LIMITS.stopSequencesMax, 0, 64),
      stopLengthMax: int('limits.stopLengthMax', limits.stopLengthMax ?? DEFAULT_LIMITS.stopLengthMax, 1, 65_536),
      headersTimeoutMs: int('limits.headersTimeoutMs', limits.headersTimeoutMs ?? DEFAULT_LIMITS.headersTimeoutMs, 100, 600_000),
      receiveTimeoutMs: int('limits.receiveTimeoutMs', limits.receiveTimeoutMs ?? DEFAULT_LIMITS.receiveTimeoutMs, 100, 3_600_000),
      keepAliveTimeoutMs: int('limits.keepAliveTimeoutMs', limits.keepAliveTimeoutMs ?? DEFAULT_LIMITS.keepAliveTimeoutMs, 100, 3_600_000),
    },
    workers: resolveWorkers(root.workers ?? []),
    registry: resolveRegistry(root.registry ?? { type: 'static' }),
    grpc: {
      reconnectBaseMs: int('grpc.reconnectBaseMs', grpc.reconnectBaseMs ?? DEFAULT_GRPC.reconnectBaseMs, 1, 600_000),
      reconnectMaxMs: int('grpc.reconnectMaxMs', grpc.reconnectMaxMs ?? DEFAULT_GRPC.reconnectMaxMs, 1, 3_600_000),
      unaryTimeoutMs: int('grpc.unaryTimeoutMs', grpc.unaryTimeoutMs ?? DEFAULT_GRPC.unaryTimeoutMs, 1, 3_600_000),
    },
    logLevel: oneOf('logLevel', root.logLevel ?? 'info', LOG_LEVELS),
    core: resolveGatewayConfigAt('core', root.core ?? {}),
    usage: resolveUsage(obj('usage', root.usage ?? {})),
    audit: resolveAudit(obj('audit', root.audit ?? {})),
    ...(root.canaryShared !== undefined && { canaryShared: resolveCanaryShared(obj('canaryShared', root.canaryShared)) }),
  };
  if (cfg.limits.defaultMaxTokens > cfg.limits.maxTokensMax) throw new ConfigError('limits.defaultMaxTokens', `must be ≤ limits.maxTokensMax (${cfg.limits.maxTokensMax})`);
  if (cfg.limits.headersTimeoutMs > cfg.limits.receiveTimeoutMs) throw new ConfigError('limits.headersTimeoutMs', `must be ≤ limits.receiveTimeoutMs (${cfg.limits.receiveTimeoutMs})`);
  if (cfg.grpc.reconnectMaxMs < cfg.grpc.reconnectBaseMs) throw new ConfigError('grpc.reconnectMaxMs', `must be ≥ grpc.reconnectBaseMs (${cfg.grpc.reconnectBaseMs})`);
  return cfg;
}

/** Settings given on the command line (or by the environment through `mlx-serving`), over the file's. */
export interface LiveConfigOverrides {
  readonly host?: string;
  readonly port?: number;
  readonly logLevel?: string;
}

/**
 * Reads and validates a JSON config file; env MLX_SERVING_API_KEYS (comma-separated) and
 * MLX_SERVING_ADMIN_KEY add keys; `overrides` replace the file's listen.host, listen.port, logLevel
 * (validated as the file's values are).
 */
export function loadLiveConfig(path: string, env: NodeJS.ProcessEnv = {}, overrides: LiveConfigOverrides = {}): LiveGatewayConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError('file', `${path} could not be read as JSON: ${(err as Error).message}`);
  }
  const root = obj('config', raw);
  const auth = obj('auth', root.auth ?? {});
  const envKeys = (env.MLX_SERVING_API_KEYS ?? '').split(',').map((k) => k.trim()).filter((k) => k.length > 0);
  const listen = obj('listen', root.listen ?? {});
  const merged = {
    ...root,
    ...((overrides.host !== undefined || overrides.port !== undefined) && {
      listen: { ...listen, ...(overrides.host !== undefined && { host: overrides.host }), ...(overrides.port !== undefined && { port: overrides.port }) },
    }),
    ...(overrides.logLevel !== undefined && { logLevel: overrides.logLevel }),
    auth: {
      ...auth,
      apiKeys: [...(Array.isArray(auth.apiKeys) ? auth.apiKeys : []), ...envKeys],
      ...(env.MLX_SERVING_ADMIN_KEY !== undefined && env.MLX_SERVING_ADMIN_KEY !== '' && { adminKey: env.MLX_SERVING_ADMIN_KEY }),
    },
  };
  return resolveLiveConfig(merged);
}

// ───────────────────────────── sections ─────────────────────────────

function resolveAudit(a: Record<string, unknown>): { path?: string } {
  known('audit', a, ['path']);
  return a.path !== undefined ? { path: str('audit.path', a.path) } : {};
}

function resolveUsage(u: Record<string, unknown>): UsageConfig {
  known('usage', u, ['path', 'flushMs', 'costs', 'budgets', 'shared']);
  const costs = obj('usage.costs', u.costs ?? {});
  const out: Record<string, ModelCost> = {};
  for (const [model, c] of Object.entries(costs)) {
    const o = obj(`usage.costs.${model}`, c);
    known(`usage.costs.${model}`, o, ['promptPerMillionTokens', 'completionPerMillionTokens']);
    out[model] = {
      promptPerMillionTokens: nonNegative(`usage.costs.${model}.promptPerMillionTokens`, o.promptPerMillionTokens),
      completionPerMillionTokens: nonNegative(`usage.costs.${model}.completionPerMillionTokens`, o.completionPerMillionTokens),
    };
  }
  const budgets: Record<string, { tokensPerMonth: number }> = {};
  for (const [tenant, b] of Object.entries(obj('usage.budgets', u.budgets ?? {}))) {
    const o = obj(`usage.budgets.${tenant}`, b);
    known(`usage.budgets.${tenant}`, o, ['tokensPerMonth']);
    budgets[tenant] = { tokensPerMonth: int(`usage.budgets.${tenant}.tokensPerMonth`, o.tokensPerMonth, 1, Number.MAX_SAFE_INTEGER) };
  }
  return {
    ...(u.path !== undefined && { path: str('usage.path', u.path) }),
    flushMs: int('usage.flushMs', u.flushMs ?? 1000, 10, 3_600_000),
    costs: out,
    budgets,
    ...(u.shared !== undefined && { shared: resolveSharedUsage(obj('usage.shared', u.shared)) }),
  };
}

function natsUrl(field: string, v: unknown): string {
  const url = str(field, v);
  if (!/^(nats|tls|ws|wss):\/\/[^\s]+$/.test(url)) throw new ConfigError(field, `must be a nats:// URL, got ${JSON.stringify(url)}`);
  return url;
}

function kvBucket(field: string, v: unknown): string {
  const bucket = str(field, v);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(bucket)) throw new ConfigError(field, `must match [A-Za-z0-9_-]{1,64} (a KV bucket name), got ${JSON.stringify(bucket)}`);
  return bucket;
}

function resolveCanaryShared(o: Record<string, unknown>): CanarySharedConfig {
  known('canaryShared', o, ['url', 'bucket', 'syncMs']);
  return {
    url: natsUrl('canaryShared.url', o.url),
    bucket: kvBucket('canaryShared.bucket', o.bucket ?? 'mlx_serving_canary'),
    syncMs: int('canaryShared.syncMs', o.syncMs ?? 500, 10, 3_600_000),
  };
}

function resolveSharedUsage(o: Record<string, unknown>): SharedUsageConfig {
  known('usage.shared', o, ['url', 'bucket', 'gatewayId', 'syncMs']);
  const url = natsUrl('usage.shared.url', o.url);
  const bucket = kvBucket('usage.shared.bucket', o.bucket ?? 'mlx_serving_usage');
  const gatewayId = str('usage.shared.gatewayId', o.gatewayId);
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(gatewayId)) throw new ConfigError('usage.shared.gatewayId', `must match [A-Za-z0-9_.:-]{1,64}, got ${JSON.stringify(gatewayId)}`);
  return { url, bucket, gatewayId, syncMs: int('usage.shared.syncMs', o.syncMs ?? 1000, 10, 3_600_000) };
}

function nonNegative(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(field, `must be a finite number >= 0, got ${JSON.stringify(v)}`);
  return v;
}

function resolveWorkers(value: unknown): WorkerEndpoint[] {
  const list = arr('workers', value);
  const seen = new Set<string>();
  return list.map((w, i) => {
    const o = obj(`workers[${i}]`, w);
    known(`workers[${i}]`, o, ['id', 'address']);
    const id = str(`workers[${i}].id`, o.id);
    if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(id)) throw new ConfigError(`workers[${i}].id`, `must match [A-Za-z0-9_.:-]{1,128}, got ${JSON.stringify(id)}`);
    if (seen.has(id)) throw new ConfigError(`workers[${i}].id`, `duplicates worker id ${JSON.stringify(id)}`);
    seen.add(id);
    const address = str(`workers[${i}].address`, o.address);
    if (!isWorkerAddress(address)) throw new ConfigError(`workers[${i}].address`, `must be "unix:///absolute/path" or "host:port", got ${JSON.stringify(address)}`);
    return { id, address };
  });
}

function resolveRegistry(value: unknown): RegistryConfig {
  const o = obj('registry', value);
  const type = oneOf('registry.type', o.type, ['static', 'nats'] as const);
  if (type === 'static') {
    known('registry', o, ['type']);
    return { type };
  }
  known('registry', o, ['type', 'url', 'bucket', 'missesMax']);
  const url = natsUrl('registry.url', o.url);
  return {
    type, url,
    ...(o.bucket !== undefined && { bucket: str('registry.bucket', o.bucket) }),
    ...(o.missesMax !== undefined && { missesMax: int('registry.missesMax', o.missesMax, 1, 1000) }),
  };
}

export function isWorkerAddress(a: string): boolean {
  if (a.startsWith('unix:')) return /^unix:(\/\/)?\/.+/.test(a);
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(a);
  return m !== null && Number(m[2]) <= 65_535;
}

function resolveGatewayConfigAt(field: string, value: unknown): GatewayConfig {
  try {
    return resolveGatewayConfig(value);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${field}.${err.field.replace(/^config\.?/, '')}`.replace(/\.$/, ''), err.reason);
    throw err;
  }
}
