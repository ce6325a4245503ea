// Network delay between the gateway and a worker: a base latency plus seeded jitter.
//   uniform:     delay = base + U(0, jitterMs)
//   exponential: delay = base + Exp(mean = jitterMs)  (a long tail)
import type { Rng } from '../../core/types.js';
import { exponential } from '../rng/samplers.js';

export interface NetworkConfig {
  readonly baseLatencyMs: number;
  readonly jitterMs: number;
  readonly jitter: 'uniform' | 'exponential';
}

export class NetworkModel {
  constructor(readonly config: NetworkConfig, private readonly rng: Rng) {
    validateNetworkConfig(config);
  }

  /** One-way delay of one message. */
  delayMs(): number {
    const { baseLatencyMs, jitterMs, jitter } = this.config;
    if (jitterMs === 0) return baseLatencyMs;
    return baseLatencyMs + (jitter === 'uniform' ? this.rng() * jitterMs : exponential(this.rng, jitterMs));
  }
}

export function validateNetworkConfig(c: NetworkConfig): void {
  if (!(c.baseLatencyMs >= 0) || !Number.isFinite(c.baseLatencyMs)) throw new Error(`network.baseLatencyMs must be finite and >= 0, got ${c.baseLatencyMs}`);
  if (!(c.jitterMs >= 0) || !Number.isFinite(c.jitterMs)) throw new Error(`network.jitterMs must be finite and >= 0, got ${c.jitterMs}`);
  if (c.jitter !== 'uniform' && c.jitter !== 'exponential') throw new Error(`network.jitter must be 'uniform' or 'exponential', got ${JSON.stringify(c.jitter)}`);
}
