// The state the gateway's plugins share, made explicit (no globals, no decorations holding services).
import type { FastifyRequest } from 'fastify';
import type { GatewayCore } from '../../core/index.js';
import type { LiveGatewayConfig } from '../shared/config.js';
import type { Clock } from '../shared/clock.js';
import type { Authenticator, Identity } from './auth.js';
import type { CoreDriver } from './core-driver.js';
import type { GatewayMetrics } from './metrics.js';
import type { RollingRestarter } from './rolling-restart.js';
import type { WorkerLink } from './worker-link.js';
import type { AuditLog } from './audit-log.js';
import type { UsageLedger } from '../usage/usage-ledger.js';

export interface GatewayContext {
  readonly config: LiveGatewayConfig;
  readonly core: GatewayCore;
  readonly driver: CoreDriver;
  readonly clock: Clock;
  readonly metrics: GatewayMetrics;
  readonly auth: Authenticator;
  readonly links: ReadonlyMap<string, WorkerLink>;
  /** Usage accounting per tenant (live/usage/usage-ledger.ts). */
  readonly usage: UsageLedger;
  /** The admin API's audit log (audit-log.ts). */
  readonly audit: AuditLog;
  /** Rolling restarts, when the process owner can restart workers (GatewayOptions.restartWorker). */
  readonly rolling: RollingRestarter | undefined;
  /** A new id for the core (job id / request_id on the worker); unique per process. */
  nextRequestId(): string;
}

/** Request decoration: the authenticated identity (keyed by a Symbol, STYLE.md). */
export const kIdentity = Symbol('mlx-serving.identity');

export function identityOf(request: FastifyRequest): Identity | undefined {
  return (request as unknown as Record<symbol, Identity | undefined>)[kIdentity];
}

export function setIdentity(request: FastifyRequest, identity: Identity): void {
  (request as unknown as Record<symbol, Identity | undefined>)[kIdentity] = identity;
}
