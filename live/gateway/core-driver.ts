// The live driver of the gateway core: events in from HTTP, gRPC and one real timer; commands out to
// client sinks and worker links. It makes no serving decision of its own (DESIGN.md: "if a decision
// is made outside core/, ask whether sim and live would make it the same way").
//
//   HTTP request         → requestArrived        client disconnect → requestCancelled
//   worker EventBatch    → workerEvent (each)    Stats poll        → workerStatus
//   the timer            → timerFired            (one setTimeout for the earliest wakeAt)
//
// Commands: dispatch/cancel/loadModel go to the WorkerTransport (a failed load comes back as
// modelLoadFailed; a finished one shows in the worker's next status); deliver/attachFollower/detachFollower and the
// terminal commands go to the RequestSink registered for each client request. The driver keeps each
// job's output so far (text, and log-probabilities when asked for), so a follower that attaches
// mid-stream gets a replay, and so a finished job's answer can be stored in the core's caches.
import type { Command, GatewayCore, GatewayEvent, InferenceRequest, RequestId, TerminalCommand, TokenLogprob, WorkerEvent, WorkerId, WorkerOutput, WorkerStatus } from '../../core/index.js';
import type { Clock } from '../shared/clock.js';
import type { RequestTracer } from './request-tracing.js';

/** Where one client request's output goes (an HTTP response: SSE or accumulated JSON). */
export interface RequestSink {
  /** Client-facing request id, sent to the worker as trace_id. */
  readonly traceId: string;
  /** 0 = none. */
  readonly deadlineUnixMs: number;
  /** `logprobs`: one per token, when the request asked for them. */
  tokens(text: string, count: number, logprobs?: readonly TokenLogprob[]): void;
  /** The worker finished the job; usage and the end of the response come with `finish`. */
  workerDone(output: WorkerOutput): void;
  /** Exactly one terminal command per request. */
  finish(cmd: TerminalCommand): void;
}

export interface WorkerTransport {
  /** Send one batch to a worker. Failures must come back as worker error events, asynchronously. */
  dispatch(workerId: WorkerId, requests: readonly InferenceRequest[], sinkOf: (id: RequestId) => RequestSink | undefined): void;
  cancel(workerId: WorkerId, requestId: RequestId): void;
  /**
   * Load a catalogued model on a worker (the core's loadModel command): resolves once the worker has
   * it and its status has been polled anew; rejects with the reason otherwise. Absent: loads fail.
   */
  loadModel?(workerId: WorkerId, model: string, path: string): Promise<void>;
}

interface Job {
  /** The worker of the current attempt (events from other workers are stale). */
  workerId: WorkerId | undefined;
  text: string;
  tokens: number;
  /** Per token so far, when the request asked for log-probabilities. */
  logprobs: TokenLogprob[] | undefined;
  readonly followers: Set<RequestId>;
  leaderDone: boolean;
  grouped: boolean;
}

/** Bounds: events queued while a command runs (reentrancy), checked as an assertion. */
const QUEUED_EVENTS_MAX = 1_000_000;
/** A wake closer than this polls on setImmediate; a further one sleeps on setTimeout (see wakeAt). */
const SPIN_MS_MAX = 0.1;

export class CoreDriver {
  private readonly sinks = new Map<RequestId, RequestSink>();
  private readonly jobs = new Map<RequestId, Job>();
  private readonly followerOf = new Map<RequestId, RequestId>();
  private busy = false;
  private readonly queued: GatewayEvent[] = [];
  private wakeAtMs: number | undefined;
  private timeout: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private stopped = false;
  /** Jobs that gained at least one coalesced follower. */
  coalescedGroups = 0;
  /** Hook for metrics: requests per dispatched batch. */
  onBatch: ((size: number, workerId: WorkerId) => void) | undefined;
  /** Hook for logs: a canary the core rolled back (core/canary/). */
  onCanaryRollback: ((rb: Extract<Command, { type: 'canaryRolledBack' }>) => void) | undefined;
  /** Hook for metrics: completion tokens a worker streamed for the attempt it holds. */
  onTokens: ((tokens: number, workerId: WorkerId) => void) | undefined;
  /** Hook for logs: a model load the core asked for, and how it ended (error undefined: loaded). */
  onModelLoad: ((c: Extract<Command, { type: 'loadModel' }>, error: string | undefined) => void) | undefined;
  /** Tracing (request-tracing.ts): the core's decisions as span events; undefined when tracing is off. */
  tracer: RequestTracer | undefined;

  constructor(
    readonly core: GatewayCore,
    private readonly clock: Clock,
    private readonly transport: WorkerTransport,
  ) {}

  nowMs(): number {
    return this.clock.nowMs();
  }

  arrive(req: InferenceRequest, sink: RequestSink): void {
    this.sinks.set(req.id, sink);
    this.handle({ type: 'requestArrived', req });
  }

  /** The client left (or timed out): the core decides what that means for the job. */
  cancel(requestId: RequestId): void {
    if (this.sinks.has(requestId)) this.handle({ type: 'requestCancelled', requestId });
  }

  workerEvent(ev: WorkerEvent): void {
    this.tracer?.workerEvent(ev);
    const job = this.jobs.get(ev.requestId);
    if (job !== undefined && job.workerId === ev.workerId) {
      if (ev.kind === 'tokens') {
        job.text += ev.text ?? '';
        job.tokens += ev.tokens;
        this.onTokens?.(ev.tokens, ev.workerId);
        if (ev.logprobs !== undefined) (job.logprobs ??= []).push(...ev.logprobs);
      } else if (ev.kind === 'done' && ev.output.text === undefined) {
        const o = ev.output;
        const output: WorkerOutput = job.logprobs !== undefined ? { ...o, text: job.text, logprobs: job.logprobs } : { ...o, text: job.text };
        ev = { kind: 'done', workerId: ev.workerId, requestId: ev.requestId, output };
      }
    }
    this.handle({ type: 'workerEvent', event: ev });
  }

  workerStatus(status: WorkerStatus): void {
    this.handle({ type: 'workerStatus', status });
  }

  workerRemoved(workerId: WorkerId): void {
    this.handle({ type: 'workerRemoved', workerId });
  }

  /** Client requests with a live sink. */
  activeRequests(): number {
    return this.sinks.size;
  }

  /** Stops the timer (shutdown). Events still work; wakes are no longer scheduled. */
  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  // ───────────────────────────── event loop ─────────────────────────────

  private handle(event: GatewayEvent): void {
    if (this.busy) {
      // A command's side effect produced an event (a sink cancelling itself): run it after.
      if (this.queued.length >= QUEUED_EVENTS_MAX) throw new Error('core driver: event queue overflow (a command loop?)');
      this.queued.push(event);
      return;
    }
    this.busy = true;
    try {
      this.decideAndExecute(event);
      for (let e = this.queued.shift(); e !== undefined; e = this.queued.shift()) this.decideAndExecute(e);
    } finally {
      this.busy = false;
    }
  }

  private decideAndExecute(event: GatewayEvent): void {
    const commands = this.core.handle(event, this.clock.nowMs());
    this.tracer?.decided(event, commands);
    this.execute(commands);
  }

  private execute(commands: readonly Command[]): void {
    for (const c of commands) {
      switch (c.type) {
        case 'dispatch':
          for (const r of c.requests) this.startAttempt(r.id, c.workerId);
          this.onBatch?.(c.requests.length, c.workerId);
          this.transport.dispatch(c.workerId, c.requests, (id) => this.sinks.get(id));
          break;
        case 'cancel':
          this.transport.cancel(c.workerId, c.requestId);
          break;
        case 'deliver':
          this.deliver(c.recipients, c.event);
          break;
        case 'attachFollower':
          this.attach(c.leaderId, c.followerId);
          break;
        case 'detachFollower':
          this.detach(c.leaderId, c.followerId);
          break;
        case 'wakeAt':
          this.wakeAt(c.atMs);
          break;
        case 'canaryRolledBack':
          this.onCanaryRollback?.(c);
          break;
        case 'loadModel':
          this.loadModel(c);
          break;
        default:
          this.terminal(c);
      }
    }
  }

  /** Runs a load the core asked for; its failure is an event for the core, on a later turn. */
  private loadModel(c: Extract<Command, { type: 'loadModel' }>): void {
    const load = this.transport.loadModel?.(c.workerId, c.model, c.path) ?? Promise.reject(new Error('this gateway cannot load models on its workers'));
    load.then(
      () => this.onModelLoad?.(c, undefined),
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.onModelLoad?.(c, message);
        this.handle({ type: 'modelLoadFailed', workerId: c.workerId, model: c.model, message });
      },
    );
  }

  private deliver(recipients: readonly RequestId[], ev: WorkerEvent): void {
    for (const id of recipients) {
      const sink = this.sinks.get(id);
      if (sink === undefined) continue;
      if (ev.kind === 'tokens') sink.tokens(ev.text ?? '', ev.tokens, ev.logprobs);
      else if (ev.kind === 'done') sink.workerDone(ev.output);
    }
  }

  private startAttempt(jobId: RequestId, workerId: WorkerId): void {
    const job = this.jobs.get(jobId);
    if (job === undefined) {
      this.jobs.set(jobId, { workerId, text: '', tokens: 0, logprobs: undefined, followers: new Set(), leaderDone: false, grouped: false });
      return;
    }
    job.workerId = workerId;
    job.text = '';
    job.tokens = 0;
    job.logprobs = undefined;
  }

  private attach(leaderId: RequestId, followerId: RequestId): void {
    let job = this.jobs.get(leaderId);
    if (job === undefined) {
      job = { workerId: undefined, text: '', tokens: 0, logprobs: undefined, followers: new Set(), leaderDone: !this.sinks.has(leaderId), grouped: false };
      this.jobs.set(leaderId, job);
    }
    if (!job.grouped) {
      job.grouped = true;
      this.coalescedGroups++;
    }
    job.followers.add(followerId);
    this.followerOf.set(followerId, leaderId);
    if (job.tokens > 0) this.sinks.get(followerId)?.tokens(job.text, job.tokens, job.logprobs);
  }

  private detach(leaderId: RequestId, followerId: RequestId): void {
    this.followerOf.delete(followerId);
    const job = this.jobs.get(leaderId);
    if (job === undefined) return;
    job.followers.delete(followerId);
    this.dropIfUnused(leaderId, job);
  }

  private terminal(c: TerminalCommand): void {
    const id = c.requestId;
    const sink = this.sinks.get(id);
    this.sinks.delete(id);
    const job = this.jobs.get(id);
    if (job !== undefined) {
      job.leaderDone = true;
      this.dropIfUnused(id, job);
    }
    const leaderId = this.followerOf.get(id);
    if (leaderId !== undefined) this.detach(leaderId, id);
    sink?.finish(c);
  }

  private dropIfUnused(jobId: RequestId, job: Job): void {
    if (job.leaderDone && job.followers.size === 0) this.jobs.delete(jobId);
  }

  // ───────────────────────────── the one timer ─────────────────────────────

  /**
   * Keeps one timer for the earliest wake the core asked for; the core is never called early (a timer
   * that fires before the wake re-arms). setTimeout has 1 ms granularity: a wake less than
   * SPIN_MS_MAX away runs on setImmediate, anything further sleeps on setTimeout (at least 1 ms).
   * Polling with setImmediate until a sub-millisecond wake was due (as before issue 16) kept the event
   * loop spinning — about half a core while a batching window was always open, taken from the worker
   * and the clients on a small machine — for a wake at most ~1 ms late instead.
   */
  private wakeAt(atMs: number): void {
    if (this.stopped) return;
    if (this.wakeAtMs !== undefined && this.wakeAtMs <= atMs) return;
    this.clearTimer();
    this.wakeAtMs = atMs;
    this.arm();
  }

  private arm(): void {
    const delayMs = this.wakeAtMs! - this.clock.nowMs();
    if (delayMs < SPIN_MS_MAX) this.immediate = setImmediate(this.onTimer);
    else this.timeout = setTimeout(this.onTimer, Math.max(1, Math.floor(delayMs)));
  }

  private readonly onTimer = (): void => {
    this.timeout = undefined;
    this.immediate = undefined;
    if (this.stopped || this.wakeAtMs === undefined) return;
    if (this.clock.nowMs() < this.wakeAtMs) {
      this.arm();
      return;
    }
    this.wakeAtMs = undefined;
    this.handle({ type: 'timerFired' });
  };

  private clearTimer(): void {
    if (this.timeout !== undefined) clearTimeout(this.timeout);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timeout = undefined;
    this.immediate = undefined;
  }
}
