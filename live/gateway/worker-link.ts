// One gateway↔worker link: a pooled gRPC channel (keepalive; a UNIX socket when the worker is local),
// one long-lived `Session` bidi stream carrying GenerateBatch/Cancel out and EventBatch in, and a
// Stats poll every heartbeat interval.
//
// When the stream breaks, every request in flight on it is reported lost (the driver turns that into
// worker error events, so the core retries them or fails them if tokens were already sent) and the
// stream is reopened after backoff: delay = min(reconnectMaxMs, reconnectBaseMs · 2^attempt).
// A failed poll is reported as such (undefined): a missed heartbeat, which the core counts.
import * as grpc from '@grpc/grpc-js';
import { cappedExponentialDelayMs } from '../../core/index.js';
import type { GrpcLinkConfig, WorkerEndpoint } from '../shared/config.js';
import {
  callUnary, createWorkerClient, type DrainResponseMsg, type EmbedRequestMsg, type EmbedResponseMsg, type EventBatchMsg, type GatewayMessageIn,
  type GenerateEventMsg, type GenerateRequestMsg, type ModelsResponseMsg, type WorkerClient, type WorkerStatusMsg,
} from '../shared/proto.js';

export interface WorkerLinkHandler {
  onEvents(workerId: string, events: readonly GenerateEventMsg[]): void;
  /** The stream broke (or was never up) with these requests in flight on it. */
  onLost(workerId: string, requestIds: readonly string[], reason: string): void;
  /** A poll answered (status) or failed (undefined). */
  onStatus(workerId: string, status: WorkerStatusMsg | undefined): void;
}

export interface LinkLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** In-flight ids per link are bounded by the core's admission; this is the assertion's bound. */
const IN_FLIGHT_MAX = 1_000_000;

export class WorkerLink {
  readonly id: string;
  readonly address: string;
  private readonly client: WorkerClient;
  private stream: grpc.ClientDuplexStream<GatewayMessageIn, EventBatchMsg> | undefined;
  private readonly inFlight = new Set<string>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = 0;
  private pollSeq = 0;
  private deliveredSeq = 0;
  private attempt = 0;
  private closed = false;
  reconnects = 0;
  lastStatus: WorkerStatusMsg | undefined;
  lastError: string | undefined;

  constructor(
    endpoint: WorkerEndpoint,
    private readonly cfg: GrpcLinkConfig,
    private readonly heartbeatIntervalMs: number,
    private readonly handler: WorkerLinkHandler,
    private readonly log: LinkLogger,
  ) {
    this.id = endpoint.id;
    this.address = endpoint.address;
    this.client = createWorkerClient(endpoint.address);
  }

  /** Opens the stream, polls once (awaited, so the core knows the worker before traffic) and every interval after. */
  async start(): Promise<void> {
    this.openStream();
    await this.poll();
    this.pollTimer = setInterval(() => void this.poll(), this.heartbeatIntervalMs);
    this.pollTimer.unref();
  }

  get connected(): boolean {
    return this.stream !== undefined;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Sends one batch; false when the stream is down (the caller reports the requests lost). */
  dispatch(requests: GenerateRequestMsg[]): boolean {
    const s = this.stream;
    if (s === undefined) return false;
    for (const r of requests) this.inFlight.add(r.requestId);
    if (this.inFlight.size > IN_FLIGHT_MAX) throw new Error(`worker link ${this.id}: more than ${IN_FLIGHT_MAX} requests in flight`);
    s.write({ batch: { requests } });
    return true;
  }

  cancel(requestId: string): void {
    if (!this.inFlight.delete(requestId)) return;
    this.stream?.write({ cancel: { requestId } });
  }

  /** `traceparent`: the caller's span, sent as gRPC metadata (live/shared/tracing.ts); '' for none. */
  embed(req: EmbedRequestMsg, traceparent = ''): Promise<EmbedResponseMsg> {
    const metadata = new grpc.Metadata();
    if (traceparent !== '') metadata.set('traceparent', traceparent);
    return callUnary(this.client, this.client.embed, req, this.cfg.unaryTimeoutMs, metadata);
  }

  drain(drain: boolean): Promise<DrainResponseMsg> {
    return callUnary(this.client, this.client.drain, { drain }, this.cfg.unaryTimeoutMs);
  }

  /** `timeoutMs`: a model's load may take far longer than other unary calls (default grpc.unaryTimeoutMs). */
  loadModel(model: string, path: string, timeoutMs = this.cfg.unaryTimeoutMs): Promise<ModelsResponseMsg> {
    return callUnary(this.client, this.client.loadModel, { model, path }, timeoutMs);
  }

  unloadModel(model: string): Promise<ModelsResponseMsg> {
    return callUnary(this.client, this.client.unloadModel, { model }, this.cfg.unaryTimeoutMs);
  }

  /**
   * Polls Stats. The periodic poll skips a beat while one is outstanding; `force` (after an admin
   * change) always asks anew. An answer older than one already delivered is dropped, so the core
   * never goes back to a stale view.
   */
  async poll(force = false): Promise<void> {
    if ((this.polling > 0 && !force) || this.closed) return;
    const seq = ++this.pollSeq;
    this.polling++;
    try {
      // Up to two intervals: a slow answer is still a heartbeat (polls never overlap, see above).
      const st = await callUnary(this.client, this.client.stats, {}, Math.min(this.cfg.unaryTimeoutMs, 2 * this.heartbeatIntervalMs));
      if (this.closed || seq < this.deliveredSeq) return;
      this.deliveredSeq = seq;
      this.lastStatus = st;
      if (this.stream === undefined && this.reconnectTimer !== undefined) this.reconnectNow();
      this.handler.onStatus(this.id, st);
    } catch (err) {
      if (this.closed || seq < this.deliveredSeq) return;
      this.deliveredSeq = seq;
      this.lastError = (err as Error).message;
      this.handler.onStatus(this.id, undefined);
    } finally {
      this.polling--;
    }
  }

  /** Ends the stream and the channel. In-flight requests are reported lost. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    const s = this.stream;
    this.stream = undefined;
    this.reportLost('gateway shutting down');
    s?.end();
    s?.cancel();
    this.client.close();
  }

  // ───────────────────────────── stream ─────────────────────────────

  private openStream(): void {
    if (this.closed) return;
    const call = this.client.session();
    this.stream = call;
    call.on('data', (batch: EventBatchMsg) => {
      this.attempt = 0;
      this.lastError = undefined;
      for (const ev of batch.events) if (ev.kind !== 'tokens') this.inFlight.delete(ev.requestId);
      this.handler.onEvents(this.id, batch.events);
    });
    call.on('metadata', () => {
      this.attempt = 0;
    });
    call.on('error', (err: grpc.ServiceError) => this.onBroken(call, `${err.code ?? ''} ${err.details ?? err.message}`.trim()));
    call.on('end', () => this.onBroken(call, 'stream ended by the worker'));
  }

  private onBroken(call: grpc.ClientDuplexStream<GatewayMessageIn, EventBatchMsg>, reason: string): void {
    if (this.stream !== call) return;
    this.stream = undefined;
    this.lastError = reason;
    if (this.closed) return;
    // Warn once per outage (a dead worker would otherwise log on every reconnect attempt).
    if (this.attempt === 0) this.log.warn({ worker: this.id, reason, inFlight: this.inFlight.size }, 'worker session stream broke');
    this.reportLost(reason);
    const delayMs = cappedExponentialDelayMs(this.attempt, this.cfg.reconnectBaseMs, this.cfg.reconnectMaxMs);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => this.reconnectNow(), delayMs);
    this.reconnectTimer.unref();
  }

  private reconnectNow(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.closed || this.stream !== undefined) return;
    this.reconnects++;
    this.openStream();
  }

  private reportLost(reason: string): void {
    if (this.inFlight.size === 0) return;
    const ids = [...this.inFlight];
    this.inFlight.clear();
    this.handler.onLost(this.id, ids, reason);
  }
}
