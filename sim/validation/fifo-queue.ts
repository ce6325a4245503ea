// A FIFO c-server queue on the simulator's engine, for validation against queueing theory:
// Poisson arrivals (rate λ), exponential service (rate μ), c servers, unbounded FIFO waiting line
// (bounded in practice by the customer count). Compared in tests with the analytic M/M/c mean wait
// (Erlang C) and with Little's law (L = λ W, L measured as the time average of the number in system).
//   Erlang C: a = λ/μ, ρ = a/c,  P(wait) = (a^c / c!) / (1 - ρ) / (Σ_{k<c} a^k / k! + (a^c / c!) / (1 - ρ)),
//             Wq = P(wait) / (c μ - λ)
import { EventLoop, Phase } from '../engine/loop.js';
import { deriveRng, type Seed } from '../rng/rng.js';
import { exponential } from '../rng/samplers.js';

export interface FifoQueueConfig {
  readonly servers: number;
  readonly arrivalRatePerMs: number;
  readonly serviceRatePerMs: number;
  readonly customers: number;
  /** Customers at the start excluded from the wait statistics (the empty-system transient). */
  readonly warmupCustomers: number;
  readonly seed: Seed;
}

export interface FifoQueueResult {
  readonly customers: number;
  /** Mean wait in line (Wq) of customers after warm-up. */
  readonly meanWaitMs: number;
  /** Mean time in system (W) over all customers. */
  readonly meanSojournMs: number;
  /** Time-average number in system over the whole run (L). */
  readonly timeAvgInSystem: number;
  /** Customers per ms over the whole run. */
  readonly throughputPerMs: number;
  readonly endMs: number;
  readonly steps: number;
}

const ARRIVAL = 0;
const DEPARTURE = 1;

export function simulateFifoQueue(cfg: FifoQueueConfig): FifoQueueResult {
  const { servers, customers } = cfg;
  if (!Number.isInteger(servers) || servers < 1) throw new Error(`servers must be an integer >= 1, got ${servers}`);
  if (!Number.isInteger(customers) || customers < 1 || customers > 50_000_000) throw new Error(`customers must be an integer in [1, 5e7], got ${customers}`);
  if (!(cfg.arrivalRatePerMs > 0) || !(cfg.serviceRatePerMs > 0)) throw new Error('arrival and service rates must be > 0');
  const arrivalRng = deriveRng(cfg.seed, 'validation/arrivals');
  const serviceRng = deriveRng(cfg.seed, 'validation/service');
  const meanGap = 1 / cfg.arrivalRatePerMs;
  const meanService = 1 / cfg.serviceRatePerMs;
  const loop = new EventLoop({ seed: cfg.seed, maxSteps: 2 * customers + 10 });
  const arrivalMs = new Float64Array(customers); // FIFO line: customer ids are arrival order
  let head = 0; // next customer to be served
  let arrived = 0;
  let busy = 0;
  let inSystem = 0;
  let lastChangeMs = 0;
  let areaInSystem = 0; // ∫ N(t) dt
  let waitSum = 0;
  let waitCount = 0;
  let sojournSum = 0;
  const change = (now: number, delta: number): void => {
    areaInSystem += inSystem * (now - lastChangeMs);
    lastChangeMs = now;
    inSystem += delta;
  };
  const startService = (id: number, now: number): void => {
    if (id >= cfg.warmupCustomers) {
      waitSum += now - arrivalMs[id]!;
      waitCount++;
    }
    loop.schedule(now + exponential(serviceRng, meanService), DEPARTURE, id);
  };
  loop.on(ARRIVAL, Phase.arrival, 'arrival', (_e, sim) => {
    const id = arrived++;
    arrivalMs[id] = sim.nowMs;
    change(sim.nowMs, +1);
    if (busy < servers) {
      busy++;
      head++;
      startService(id, sim.nowMs);
    }
    if (arrived < customers) sim.schedule(sim.nowMs + exponential(arrivalRng, meanGap), ARRIVAL);
  });
  loop.on(DEPARTURE, Phase.workerStep, 'departure', (e, sim) => {
    change(sim.nowMs, -1);
    sojournSum += sim.nowMs - arrivalMs[e.target]!;
    if (head < arrived) startService(head++, sim.nowMs);
    else busy--;
  });
  loop.schedule(exponential(arrivalRng, meanGap), ARRIVAL);
  const r = loop.run();
  return {
    customers,
    meanWaitMs: waitCount > 0 ? waitSum / waitCount : 0,
    meanSojournMs: sojournSum / customers,
    timeAvgInSystem: areaInSystem / r.endMs,
    throughputPerMs: customers / r.endMs,
    endMs: r.endMs,
    steps: r.steps,
  };
}

/** Analytic mean wait in line of an M/M/c queue (Erlang C), in ms. */
export function erlangCWaitMs(servers: number, arrivalRatePerMs: number, serviceRatePerMs: number): number {
  const a = arrivalRatePerMs / serviceRatePerMs;
  const rho = a / servers;
  if (!(rho < 1)) throw new Error(`unstable queue: utilisation ${rho} >= 1`);
  let term = 1; // a^k / k!
  let sum = 0;
  for (let k = 0; k < servers; k++) {
    sum += term;
    term *= a / (k + 1);
  }
  const tail = term / (1 - rho); // term = a^c / c!
  const pWait = tail / (sum + tail);
  return pWait / (servers * serviceRatePerMs - arrivalRatePerMs);
}
