// The worker node's part of a request's trace (live/shared/tracing.ts: off unless OTEL_* enable it).
//
//   worker.generate (SERVER)  from the request's arrival on the node to its Done or Error event (or its
//                             cancel); its parent is the gateway's attempt span, from the request's own
//                             `traceparent` field (Session: many requests share one stream, so the
//                             context travels per request) or else from the call's gRPC metadata
//                             (Generate). The runtime gets this span's context as the JSON-RPC
//                             generate param `traceparent` (generate-mapping.ts), and makes its own
//                             runtime.generate span under it.
// Events: first_token; on Done the runtime's timings (mlx.queue_ms, mlx.prefill_ms, mlx.decode_ms) and
// the token counts as attributes; on Error the code as the span's status.
import type * as grpc from '@grpc/grpc-js';
import type { GenerateEventIn, GenerateRequestMsg } from '../shared/proto.js';
import { extractContext, firstValue, SpanKind, SpanStatusCode, traceparentOf, type Tracer } from '../shared/tracing.js';
import type { EventSink, JobHandle } from './worker-node.js';

export type Submit = (req: GenerateRequestMsg, sink: EventSink) => JobHandle;

/** The traceparent of a call's metadata (Generate, unary calls), or undefined. */
export function traceparentOfMetadata(metadata: grpc.Metadata | undefined): string | undefined {
  return metadata === undefined ? undefined : firstValue(metadata.get('traceparent'));
}

export class WorkerTracer {
  constructor(
    private readonly tracer: Tracer,
    private readonly workerId: string,
  ) {}

  /** A span for a unary call (Embed) under the context of its gRPC metadata; `end` closes it (with an error code, as failed). */
  call(name: string, traceparent: string | undefined, requestId: string): { end(errorCode?: string): void } {
    const span = this.tracer.startSpan(name, {
      kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': 'mlxserving.worker.v1.Worker', 'mlx.worker.id': this.workerId, 'mlx.request.id': requestId },
    }, extractContext(traceparent));
    return {
      end: (errorCode) => {
        if (errorCode !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
        span.end();
      },
    };
  }

  /** Runs `submit` inside a worker.generate span; the request it submits carries the span's traceparent. */
  submit(req: GenerateRequestMsg, sink: EventSink, submit: Submit, metadataTraceparent?: string): JobHandle {
    const own = req.traceparent ?? '';
    const parent = extractContext(own !== '' ? own : metadataTraceparent);
    const span = this.tracer.startSpan('worker.generate', {
      kind: SpanKind.SERVER,
      attributes: {
        'rpc.system': 'grpc', 'rpc.service': 'mlxserving.worker.v1.Worker', 'mlx.worker.id': this.workerId, 'mlx.job.id': req.requestId,
        'mlx.request.id': req.traceId, 'gen_ai.request.model': req.model,
      },
    }, parent);
    let ended = false;
    let sawToken = false;
    const traced: EventSink = (ev: GenerateEventIn) => {
      if (!ended) {
        if ('tokens' in ev) {
          if (!sawToken) span.addEvent('first_token');
          sawToken = true;
        } else {
          ended = true;
          if ('done' in ev && ev.done !== undefined && ev.done !== null) {
            const d = ev.done;
            span.setAttributes({
              'mlx.queue_ms': d.queueMs ?? 0, 'mlx.prefill_ms': d.prefillMs ?? 0, 'mlx.decode_ms': d.decodeMs ?? 0,
              'gen_ai.usage.input_tokens': d.promptTokens ?? 0, 'gen_ai.usage.output_tokens': d.completionTokens ?? 0, 'gen_ai.response.finish_reasons': [d.finishReason ?? ''],
            });
          } else if ('error' in ev && ev.error !== undefined && ev.error !== null) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: ev.error.code ?? 'error' });
          }
          span.end();
        }
      }
      sink(ev);
    };
    const handle = submit({ ...req, traceparent: traceparentOf(span) }, traced);
    return {
      cancel: () => {
        handle.cancel();
        if (ended) return;
        ended = true;
        span.addEvent('cancelled');
        span.end();
      },
    };
  }
}
