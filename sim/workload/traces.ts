// Replay of public trace formats (no trace can be downloaded here; tested on fixtures in these formats):
//   Azure LLM inference trace 2023: CSV with header TIMESTAMP,ContextTokens,GeneratedTokens;
//     TIMESTAMP like "2023-11-16 18:15:46.6805900" (UTC, up to 7 fractional digits). Arrival times are
//     relative to the first row. No prefix information: every prompt gets fresh blocks.
//   Mooncake (FAST'25): JSONL {"timestamp": ms, "input_length", "output_length", "hash_ids": [...]};
//     one hash id per 512-token block. Each Mooncake id h becomes 8 simulator blocks (64 tokens each):
//     h × 8 + j, j = 0..7, keeping "a shared id means a shared prefix".
// Rows must be in nondecreasing time; errors name the line and the field.
import { readFileSync } from 'node:fs';
import { RequestFactory } from './requests.js';
import { PREFIX_BLOCK_TOKENS, WorkloadError, type ArrivalSource, type SimRequest } from './types.js';

export interface TraceRecord {
  readonly timestampMs: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  /** Simulator prefix blocks (64 tokens each), when the trace has them. */
  readonly prefixBlocks?: readonly number[];
}

export const TRACE_RECORDS_MAX = 10_000_000;
export const MOONCAKE_BLOCK_TOKENS = 512;

const fail = (source: string, line: number, field: string, reason: string): never => {
  throw new WorkloadError(`${source}:${line} ${field}`, reason);
};

function positiveInt(source: string, line: number, field: string, v: unknown): number {
  const n = typeof v === 'string' ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) fail(source, line, field, `must be an integer >= 0, got ${JSON.stringify(v)}`);
  return n as number;
}

/** "2023-11-16 18:15:46.6805900" → ms since the epoch (fraction kept to microseconds). */
function parseAzureTimestamp(source: string, line: number, s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/.exec(s.trim());
  if (!m) return fail(source, line, 'TIMESTAMP', `must look like 2023-11-16 18:15:46.6805900, got ${JSON.stringify(s)}`);
  const base = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  return base + frac;
}

function checkOrder(source: string, records: TraceRecord[], line: number, t: number): void {
  const prev = records[records.length - 1];
  if (prev && t < prev.timestampMs) fail(source, line, 'timestamp', `goes back in time (${t} < ${prev.timestampMs})`);
  if (records.length >= TRACE_RECORDS_MAX) fail(source, line, '(rows)', `more than ${TRACE_RECORDS_MAX} records`);
}

export function parseAzureCsv(text: string, source = 'azure.csv'): TraceRecord[] {
  const lines = text.split(/\r?\n/);
  const header = lines[0]?.split(',').map((h) => h.trim());
  if (!header || header[0] !== 'TIMESTAMP' || header[1] !== 'ContextTokens' || header[2] !== 'GeneratedTokens') {
    fail(source, 1, 'header', `must be TIMESTAMP,ContextTokens,GeneratedTokens, got ${JSON.stringify(lines[0])}`);
  }
  const out: TraceRecord[] = [];
  let t0 = NaN;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    const cols = l.split(',');
    if (cols.length !== 3) fail(source, i + 1, '(row)', `must have 3 columns, got ${cols.length}`);
    const abs = parseAzureTimestamp(source, i + 1, cols[0]!);
    if (Number.isNaN(t0)) t0 = abs;
    const t = abs - t0;
    checkOrder(source, out, i + 1, t);
    const promptTokens = positiveInt(source, i + 1, 'ContextTokens', cols[1]);
    const outputTokens = positiveInt(source, i + 1, 'GeneratedTokens', cols[2]);
    out.push({ timestampMs: t, promptTokens, outputTokens });
  }
  return out;
}

export function parseMooncakeJsonl(text: string, source = 'mooncake.jsonl'): TraceRecord[] {
  const out: TraceRecord[] = [];
  const per = MOONCAKE_BLOCK_TOKENS / PREFIX_BLOCK_TOKENS;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(l);
    } catch {
      fail(source, i + 1, '(line)', 'is not valid JSON');
    }
    if (typeof row !== 'object' || row === null) return fail(source, i + 1, '(line)', 'must be a JSON object');
    const r = row as Record<string, unknown>;
    if (typeof r.timestamp !== 'number' || !Number.isFinite(r.timestamp) || r.timestamp < 0) fail(source, i + 1, 'timestamp', `must be a number of ms >= 0, got ${JSON.stringify(r.timestamp)}`);
    const t = r.timestamp as number;
    checkOrder(source, out, i + 1, t);
    const promptTokens = positiveInt(source, i + 1, 'input_length', r.input_length);
    const outputTokens = positiveInt(source, i + 1, 'output_length', r.output_length);
    if (!Array.isArray(r.hash_ids)) fail(source, i + 1, 'hash_ids', 'must be an array of integers');
    const ids = r.hash_ids as unknown[];
    const blocks: number[] = [];
    const complete = Math.floor(promptTokens / PREFIX_BLOCK_TOKENS);
    ids.forEach((h, k) => {
      const id = positiveInt(source, i + 1, `hash_ids[${k}]`, h);
      for (let j = 0; j < per && blocks.length < complete; j++) blocks.push(id * per + j);
    });
    out.push({ timestampMs: t, promptTokens, outputTokens, prefixBlocks: blocks });
  }
  return out;
}

export type TraceFormat = 'azure-csv' | 'mooncake-jsonl';

export function loadTrace(path: string, format: TraceFormat): TraceRecord[] {
  const text = readFileSync(path, 'utf8');
  return format === 'azure-csv' ? parseAzureCsv(text, path) : parseMooncakeJsonl(text, path);
}

export interface TraceReplayOptions {
  readonly model: string;
  /** Multiplies inter-arrival times (0.5 = twice the rate). Default 1. */
  readonly timeScale?: number;
  readonly temperature?: number;
  readonly stream?: boolean;
  /** Requests with zero tokens are raised to 1 (the worker needs >= 1). */
  readonly idPrefix?: string;
}

/** Replays trace records as an ArrivalSource. */
export class TraceWorkload implements ArrivalSource {
  private i = 0;
  private readonly factory: RequestFactory;
  private readonly scale: number;

  constructor(private readonly records: readonly TraceRecord[], opts: TraceReplayOptions) {
    this.scale = opts.timeScale ?? 1;
    if (!(this.scale > 0) || !Number.isFinite(this.scale)) throw new WorkloadError('timeScale', `must be finite and > 0, got ${this.scale}`);
    this.factory = new RequestFactory({ model: opts.model, idPrefix: opts.idPrefix ?? 't', temperature: opts.temperature ?? 0.7, stream: opts.stream ?? true, sharedPrefixTokens: 0 });
  }

  next(): SimRequest | undefined {
    const r = this.records[this.i++];
    if (!r) return undefined;
    return this.factory.replay(r.timestampMs * this.scale, Math.max(1, r.promptTokens), Math.max(1, r.outputTokens), r.prefixBlocks);
  }
}
