// The gateway core's vocabulary: events in, commands out (DESIGN.md, "The core contract").
// Drivers (sim/ and live/) deliver events with the current time and execute the commands.
import type { CachedAnswer } from '../caching/response-store.js';
import type { CanaryRollback } from '../canary/canary-router.js';
import type { ErrorCode } from '../errors.js';
import type { InferenceRequest, RequestId, TokenLogprob, WorkerId } from '../types.js';

export interface WorkerStatus {
  readonly workerId: WorkerId;
  readonly models: readonly string[];
  /** What the worker itself can run at once; the gateway uses min(this, admission limit). */
  readonly maxConcurrent: number;
  readonly healthy: boolean;
  readonly draining: boolean;
  readonly kvUsedBytes: number;
  readonly kvCapacityBytes: number;
  /** Memory the worker could still load a model into, bytes, when it reports it (model placement, model-loads.ts). */
  readonly memoryFreeBytes?: number;
  /**
   * Models of `models` the worker holds unloaded now (idle unload): it serves them, but a request
   * waits for the reload. Routing prefers a worker holding the model warm (worker-table.ts warmFirst).
   */
  readonly coldModels?: readonly string[];
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Prompt tokens not computed for this answer (the runtime's prefix cache, or all of them for an
   * answer served from the gateway's caches); absent when the driver does not know (simulation). */
  readonly cachedPromptTokens?: number;
}

export interface WorkerOutput extends Usage {
  readonly finishReason: 'stop' | 'length';
  /** The stop string that ended the output (finish "stop"), when the worker says (live). */
  readonly stopSequence?: string;
  /** Full output text when the driver has it (live); absent in simulation. */
  readonly text?: string;
  /** Per output token, when the request asked for log-probabilities and the driver has them (live). */
  readonly logprobs?: readonly TokenLogprob[];
}

export interface WorkerFailure {
  readonly code: string;
  readonly message: string;
  /** The request itself was at fault (bad params): retrying elsewhere cannot help. */
  readonly clientFault?: boolean;
  /**
   * The worker has another healthy runtime of the request's model (a runtime lost before the first
   * token, core/worker/runtime-lost.ts): a retry prefers this worker while it stays routable.
   */
  readonly retryHere?: boolean;
}

export type WorkerEvent =
  | { readonly kind: 'tokens'; readonly workerId: WorkerId; readonly requestId: RequestId; readonly tokens: number; readonly text?: string; readonly logprobs?: readonly TokenLogprob[] }
  | { readonly kind: 'done'; readonly workerId: WorkerId; readonly requestId: RequestId; readonly output: WorkerOutput }
  | { readonly kind: 'error'; readonly workerId: WorkerId; readonly requestId: RequestId; readonly failure: WorkerFailure };

export type GatewayEvent =
  | { readonly type: 'requestArrived'; readonly req: InferenceRequest }
  | { readonly type: 'requestCancelled'; readonly requestId: RequestId }
  | { readonly type: 'workerEvent'; readonly event: WorkerEvent }
  | { readonly type: 'workerStatus'; readonly status: WorkerStatus }
  | { readonly type: 'workerRemoved'; readonly workerId: WorkerId }
  /** A `loadModel` command failed on its worker: the requests waiting for it fail (model-loads.ts). */
  | { readonly type: 'modelLoadFailed'; readonly workerId: WorkerId; readonly model: string; readonly message: string }
  | { readonly type: 'timerFired' };

export type Command =
  /** Send these requests to the worker (one message). Each request id names one job. */
  | { readonly type: 'dispatch'; readonly workerId: WorkerId; readonly requests: readonly InferenceRequest[] }
  /** Stop the job on the worker (client gone, timeout). */
  | { readonly type: 'cancel'; readonly workerId: WorkerId; readonly requestId: RequestId }
  /** Forward a worker's stream event of job `jobId` to these client requests. */
  | { readonly type: 'deliver'; readonly jobId: RequestId; readonly recipients: readonly RequestId[]; readonly event: WorkerEvent }
  /** `followerId` now receives the stream of job `leaderId` (replay what it has produced so far). */
  | { readonly type: 'attachFollower'; readonly leaderId: RequestId; readonly followerId: RequestId }
  /** `followerId` no longer receives job `leaderId` (it timed out waiting and runs alone, or left). */
  | { readonly type: 'detachFollower'; readonly leaderId: RequestId; readonly followerId: RequestId }
  // — terminal commands: every request gets exactly one of these —
  | { readonly type: 'serveFromCache'; readonly requestId: RequestId; readonly answer: CachedAnswer; readonly source: 'dedupe' | 'cache' }
  | { readonly type: 'complete'; readonly requestId: RequestId; readonly usage: Usage; readonly via: 'worker' | 'coalesced' }
  | { readonly type: 'reject'; readonly requestId: RequestId; readonly status: number; readonly code: ErrorCode; readonly message: string; readonly retryAfterMs?: number }
  | { readonly type: 'fail'; readonly requestId: RequestId; readonly status: number; readonly code: ErrorCode; readonly message: string; readonly tokensSent: number }
  /** A canary regressed against its stable version and now has weight 0 (core/canary/); for logs and metrics. */
  | ({ readonly type: 'canaryRolledBack' } & CanaryRollback)
  /** Load this catalogued model on this worker (config.catalog); success shows in its status, failure comes back as modelLoadFailed. */
  | { readonly type: 'loadModel'; readonly workerId: WorkerId; readonly model: string; readonly path: string; readonly bytes: number }
  /** Call timerFired at (or after) this time. */
  | { readonly type: 'wakeAt'; readonly atMs: number };

export type TerminalCommand = Extract<Command, { type: 'serveFromCache' | 'complete' | 'reject' | 'fail' }>;

export function isTerminal(c: Command): c is TerminalCommand {
  return c.type === 'serveFromCache' || c.type === 'complete' || c.type === 'reject' || c.type === 'fail';
}
