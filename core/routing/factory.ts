// Turns a routing config into a policy.
import type { RoutingConfig } from '../config/types.js';
import { LatencyAwarePolicy } from './latency-aware.js';
import { LeastLoadedPolicy } from './least-loaded.js';
import type { RoutingPolicy } from './policy.js';
import { PowerOfTwoPolicy } from './power-of-two.js';
import { PrefixAwarePolicy } from './prefix-aware.js';
import { RoundRobinPolicy } from './round-robin.js';
import { SessionAffinityPolicy } from './session-affinity.js';

export function createRoutingPolicy(cfg: RoutingConfig): RoutingPolicy {
  switch (cfg.type) {
    case 'session-affinity':
      return new SessionAffinityPolicy(cfg.overloadFraction);
    case 'round-robin':
      return new RoundRobinPolicy();
    case 'least-loaded':
      return new LeastLoadedPolicy();
    case 'power-of-two':
      return new PowerOfTwoPolicy();
    case 'latency-aware':
      return new LatencyAwarePolicy(cfg.ewmaAlpha);
    case 'prefix-aware':
      return new PrefixAwarePolicy(cfg);
  }
}
