// Closed-loop workload: N users, each a multi-turn conversation; a user sends its next request only
// after its previous one finished (or failed) plus a think time. A state machine with feedback:
//   start(nowMs)                  -> the first request of every user (spread over rampUpMs)
//   onFinished(requestId, nowMs)  -> that user's next request (arrivalMs = now + think time), or
//                                    undefined once durationMs or requestsMax is reached
// Bounds: one outstanding request per user (the map of outstanding ids has at most `users` entries).
import type { RequestId, Rng } from '../../core/types.js';
import { deriveRng, type Seed } from '../rng/rng.js';
import { exponential } from '../rng/samplers.js';
import { DuplicatePicker, validateContent } from './content.js';
import { sampleLength, validateLength } from './lengths.js';
import { RequestFactory, type SessionState } from './requests.js';
import { checkNumber, WorkloadError, type ClosedLoopConfig, type SimRequest } from './types.js';
import { REQUESTS_MAX_DEFAULT } from './open-loop.js';

export const USERS_MAX = 1_000_000;

export function validateClosedLoop(c: ClosedLoopConfig): ClosedLoopConfig {
  if (c?.type !== 'closed') throw new WorkloadError('type', `must be 'closed', got ${JSON.stringify(c?.type)}`);
  validateContent(c);
  checkNumber('users', c.users, { min: 1, max: USERS_MAX, integer: true });
  if (c.thinkTime?.type === 'fixed') checkNumber('thinkTime.ms', c.thinkTime.ms, { min: 0 });
  else if (c.thinkTime?.type === 'exponential') checkNumber('thinkTime.meanMs', c.thinkTime.meanMs, { min: 0, exclusiveMin: true });
  else throw new WorkloadError('thinkTime.type', `must be 'fixed' or 'exponential', got ${JSON.stringify((c.thinkTime as { type?: unknown } | undefined)?.type)}`);
  checkNumber('rampUpMs', c.rampUpMs, { min: 0 });
  validateLength('turnsPerSession', c.turnsPerSession);
  validateLength('userTokens', c.userTokens);
  checkNumber('durationMs', c.durationMs, { min: 0, exclusiveMin: true });
  if (c.requestsMax !== undefined) checkNumber('requestsMax', c.requestsMax, { min: 1, integer: true });
  return c;
}

export class ClosedLoopWorkload {
  private readonly rng: Rng;
  private readonly thinkRng: Rng;
  private readonly factory: RequestFactory;
  private readonly dup: DuplicatePicker | undefined;
  private readonly sessions: SessionState[] = [];
  private readonly outstanding = new Map<RequestId, number>();
  private emitted = 0;
  private readonly ctxMax: number;
  private readonly requestsMax: number;

  constructor(private readonly c: ClosedLoopConfig, seed: Seed, idPrefix = 'c') {
    validateClosedLoop(c);
    this.rng = deriveRng(seed, 'workload/content');
    this.thinkRng = deriveRng(seed, 'workload/think');
    this.factory = new RequestFactory({ model: c.model, idPrefix, temperature: c.temperature ?? 0.7, stream: c.stream ?? true, sharedPrefixTokens: c.sharedPrefixTokens ?? 0, ...(c.tenant !== undefined && { tenant: c.tenant }),
      ...(c.constrained !== undefined && c.constrained.ratio > 0 && { constrained: { ratio: c.constrained.ratio, rng: deriveRng(seed, 'workload/constrained') } }) });
    this.dup = c.duplicates && c.duplicates.ratio > 0 ? new DuplicatePicker(c, this.factory, deriveRng(seed, 'workload/duplicates')) : undefined;
    this.ctxMax = c.contextTokensMax ?? 32768;
    this.requestsMax = c.requestsMax ?? REQUESTS_MAX_DEFAULT;
  }

  get outstandingCount(): number {
    return this.outstanding.size;
  }

  start(nowMs: number): SimRequest[] {
    const out: SimRequest[] = [];
    for (let u = 0; u < this.c.users; u++) {
      const r = this.request(u, nowMs + this.rng() * this.c.rampUpMs);
      if (r) out.push(r);
    }
    return out.sort((a, b) => a.arrivalMs - b.arrivalMs);
  }

  /** Feedback: the request finished (done or failed) at nowMs; returns the user's next request. */
  onFinished(requestId: RequestId, nowMs: number): SimRequest | undefined {
    const u = this.outstanding.get(requestId);
    if (u === undefined) return undefined;
    this.outstanding.delete(requestId);
    const think = this.c.thinkTime.type === 'fixed' ? this.c.thinkTime.ms : exponential(this.thinkRng, this.c.thinkTime.meanMs);
    return this.request(u, nowMs + think);
  }

  private request(user: number, atMs: number): SimRequest | undefined {
    if (atMs >= this.c.durationMs || this.emitted >= this.requestsMax) return undefined;
    this.emitted++;
    let r = this.dup?.maybe(atMs);
    if (!r) {
      let s = this.sessions[user];
      const out = sampleLength(this.c.outputTokens, this.rng);
      const user1 = sampleLength(this.c.userTokens, this.rng);
      if (s && (s.turn >= s.turnsTotal || s.contextTokens + user1 + out > this.ctxMax)) s = undefined;
      if (!s) {
        s = this.factory.newSession(sampleLength(this.c.turnsPerSession, this.rng));
        this.sessions[user] = s;
        r = this.factory.sessionTurn(s, atMs, sampleLength(this.c.promptTokens, this.rng), out);
      } else {
        r = this.factory.sessionTurn(s, atMs, user1, out);
      }
    }
    this.outstanding.set(r.request.id, user);
    return r;
  }
}
