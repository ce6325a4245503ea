// Open-loop workload: arrivals follow a rate profile regardless of how the system copes.
// Each arrival is, in this order of precedence: a duplicate of a hot prompt (probability
// duplicates.ratio), the next turn of a random active session (probability sessions.continueProbability
// when one exists), a new session's first turn (when sessions are configured), or a one-off prompt.
// Bounds: requestsMax (default 10 M), sessions.maxActiveSessions, duplicates.hotSetSize.
import type { Rng } from '../../core/types.js';
import { deriveRng, type Seed } from '../rng/rng.js';
import { ArrivalClock, validateArrival, validateRate } from './arrivals.js';
import { DuplicatePicker, validateContent } from './content.js';
import { lengthSampler, validateLength } from './lengths.js';
import { RequestFactory, type SessionState } from './requests.js';
import { checkNumber, WorkloadError, type ArrivalSource, type OpenLoopConfig, type SimRequest } from './types.js';

export const REQUESTS_MAX_DEFAULT = 10_000_000;

export function validateOpenLoop(c: OpenLoopConfig): OpenLoopConfig {
  if (c?.type !== 'open') throw new WorkloadError('type', `must be 'open', got ${JSON.stringify(c?.type)}`);
  validateContent(c);
  validateRate('rate', c.rate);
  validateArrival('arrival', c.arrival);
  checkNumber('durationMs', c.durationMs, { min: 0, exclusiveMin: true });
  if (c.requestsMax !== undefined) checkNumber('requestsMax', c.requestsMax, { min: 1, integer: true });
  if (c.sessions) {
    checkNumber('sessions.continueProbability', c.sessions.continueProbability, { min: 0, max: 1 });
    validateLength('sessions.turnsPerSession', c.sessions.turnsPerSession);
    validateLength('sessions.userTokens', c.sessions.userTokens);
    checkNumber('sessions.maxActiveSessions', c.sessions.maxActiveSessions, { min: 1, max: 1_000_000, integer: true });
  }
  return c;
}

export class OpenLoopWorkload implements ArrivalSource {
  private readonly clock: ArrivalClock;
  private readonly rng: Rng;
  private readonly factory: RequestFactory;
  private readonly dup: DuplicatePicker | undefined;
  private readonly active: SessionState[] = [];
  private readonly ctxMax: number;
  private emitted = 0;
  private readonly requestsMax: number;
  // The length distributions' samplers, their constants computed once (issue 21).
  private readonly promptLength: (rng: Rng) => number;
  private readonly outputLength: (rng: Rng) => number;
  private readonly userLength: ((rng: Rng) => number) | undefined;
  private readonly turnsLength: ((rng: Rng) => number) | undefined;

  constructor(private readonly c: OpenLoopConfig, seed: Seed, idPrefix = 'r') {
    validateOpenLoop(c);
    this.clock = new ArrivalClock(c.rate, c.arrival, deriveRng(seed, 'workload/arrivals'));
    this.rng = deriveRng(seed, 'workload/content');
    this.factory = new RequestFactory({ model: c.model, idPrefix, temperature: c.temperature ?? 0.7, stream: c.stream ?? true, sharedPrefixTokens: c.sharedPrefixTokens ?? 0, ...(c.tenant !== undefined && { tenant: c.tenant }),
      ...(c.constrained !== undefined && c.constrained.ratio > 0 && { constrained: { ratio: c.constrained.ratio, rng: deriveRng(seed, 'workload/constrained') } }) });
    this.dup = c.duplicates && c.duplicates.ratio > 0 ? new DuplicatePicker(c, this.factory, deriveRng(seed, 'workload/duplicates')) : undefined;
    this.ctxMax = c.contextTokensMax ?? 32768;
    this.requestsMax = c.requestsMax ?? REQUESTS_MAX_DEFAULT;
    this.promptLength = lengthSampler(c.promptTokens);
    this.outputLength = lengthSampler(c.outputTokens);
    this.userLength = c.sessions && lengthSampler(c.sessions.userTokens);
    this.turnsLength = c.sessions && lengthSampler(c.sessions.turnsPerSession);
  }

  next(): SimRequest | undefined {
    if (this.emitted >= this.requestsMax) return undefined;
    const t = this.clock.next();
    if (!(t < this.c.durationMs)) return undefined;
    this.emitted++;
    const d = this.dup?.maybe(t);
    if (d) return d;
    const s = this.c.sessions;
    if (!s) return this.factory.fresh(t, this.promptLength(this.rng), this.outputLength(this.rng));
    const out = this.outputLength(this.rng);
    if (this.active.length > 0 && this.rng() < s.continueProbability) {
      const i = Math.floor(this.rng() * this.active.length);
      const sess = this.active[i]!;
      const user = this.userLength!(this.rng);
      if (sess.contextTokens + user + out <= this.ctxMax) {
        const req = this.factory.sessionTurn(sess, t, user, out);
        if (sess.turn >= sess.turnsTotal) this.removeSession(i);
        return req;
      }
      this.removeSession(i); // context full: the conversation ends; start a new one instead
    }
    const sess = this.factory.newSession(this.turnsLength!(this.rng));
    const req = this.factory.sessionTurn(sess, t, this.promptLength(this.rng), out);
    if (sess.turn < sess.turnsTotal) {
      if (this.active.length >= s.maxActiveSessions) this.removeSession(0);
      this.active.push(sess);
    }
    return req;
  }

  private removeSession(i: number): void {
    const last = this.active.pop()!;
    if (i < this.active.length) this.active[i] = last;
  }
}
