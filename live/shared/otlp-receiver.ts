// Test support (not built into the package's API): an OTLP/HTTP trace receiver. It accepts
// POST /v1/traces (protobuf, optionally gzip), decodes each ExportTraceServiceRequest with the generated
// protobufjs decoder that @opentelemetry/otlp-transformer ships (no hand-rolled decoding), and keeps
// the spans with their service name, ids and events.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ReceivedEvent {
  readonly name: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly events: readonly ReceivedEvent[];
  /** Status code: 0 unset, 1 ok, 2 error. */
  readonly status: number;
}

export interface OtlpReceiver {
  /** The base URL (OTEL_EXPORTER_OTLP_ENDPOINT). */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Export requests received (and answered 200). */
  exports: number;
  close(): Promise<void>;
}

interface KeyValue { key: string; value?: AnyValue | null }
interface AnyValue { stringValue?: string | null; boolValue?: boolean | null; intValue?: unknown; doubleValue?: number | null; arrayValue?: { values?: AnyValue[] | null } | null }
interface DecodedSpan {
  traceId: Uint8Array; spanId: Uint8Array; parentSpanId?: Uint8Array | null; name: string; kind?: number | null;
  attributes?: KeyValue[] | null; events?: { name: string; attributes?: KeyValue[] | null }[] | null; status?: { code?: number | null } | null;
}
interface DecodedRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] | null } | null; scopeSpans?: { spans?: DecodedSpan[] | null }[] | null }[] | null;
}
interface Decoder { decode(buf: Uint8Array): DecodedRequest }

/** Bound on kept spans: a test that exports more is broken. */
const SPANS_MAX = 100_000;
const BODY_BYTES_MAX = 16 * 1024 * 1024;

function exportRequestDecoder(): Decoder {
  const require = createRequire(import.meta.url);
  const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
    opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: Decoder } } } } };
  };
  return root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
}

function valueOf(v: AnyValue | null | undefined): unknown {
  if (v === null || v === undefined) return undefined;
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.doubleValue !== undefined && v.doubleValue !== null) return v.doubleValue;
  if (v.intValue !== undefined && v.intValue !== null) return Number(String(v.intValue));
  if (v.arrayValue !== undefined && v.arrayValue !== null) return (v.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

function attributesOf(kvs: KeyValue[] | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key] = valueOf(kv.value);
  return out;
}

const hex = (b: Uint8Array | null | undefined): string => (b === null || b === undefined ? '' : Buffer.from(b).toString('hex'));

/** The spans of one ExportTraceServiceRequest body. */
export function decodeExport(decoder: Decoder, body: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of decoder.decode(body).resourceSpans ?? []) {
    const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          service, traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId), name: s.name, kind: s.kind ?? 0,
          attributes: attributesOf(s.attributes), events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
          status: s.status?.code ?? 0,
        });
      }
    }
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const decoder = exportRequestDecoder();
  const spans: ReceivedSpan[] = [];
  const receiver: OtlpReceiver = { url: '', spans, exports: 0, close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes <= BODY_BYTES_MAX) chunks.push(c);
    });
    req.on('end', () => {
      try {
        if (bytes > BODY_BYTES_MAX) throw new Error(`export body over ${BODY_BYTES_MAX} bytes`);
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        const got = decodeExport(decoder, body);
        if (spans.length + got.length > SPANS_MAX) throw new Error(`more than ${SPANS_MAX} spans received`);
        spans.push(...got);
        receiver.exports++;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end((err as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  });
}
