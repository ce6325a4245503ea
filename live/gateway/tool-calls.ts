// The model's output → OpenAI tool_calls. The call format (python/mlx_runtime/tools.py, rendered by the
// chat template and enforced for tool_choice "required" / a named function): the whole output is one
// compact JSON object {"name": "<tool>", "arguments": {...}}. At most one call per turn.
//
// Not streamed: the output is a call when it parses as one of a known tool (tool_choice "auto",
// "required" or named; never with "none"), and the message is {content: null, tool_calls: [call]},
// finish_reason "tool_calls".
// Streamed: the text is held until it is known whether it starts a call: `{"name":"<tool>","arguments":`
// (a known tool) — then OpenAI's deltas: the first carries index, id, type and function.name (arguments
// ""), the later ones append to function.arguments as tokens arrive (the object's closing brace held back
// until the end) —, or not — then the held text and the rest stream as content.

export interface ToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

const HEAD = '{"name":"';
const MID = '","arguments":';

/**
 * Where a text stands against the call prefix: 'maybe' (still a prefix of one), 'no', or the call's name
 * and the offset its arguments start at.
 */
export function callPrefix(text: string, names: readonly string[]): 'maybe' | 'no' | { name: string; argsAt: number } {
  const lead = text.length - text.trimStart().length;
  const s = text.slice(lead);
  if (s.length < HEAD.length) return HEAD.startsWith(s) ? 'maybe' : 'no';
  if (!s.startsWith(HEAD)) return 'no';
  const rest = s.slice(HEAD.length);
  const q = rest.indexOf('"');
  if (q < 0) return rest.includes('\\') || !names.some((n) => n.startsWith(rest)) ? 'no' : 'maybe';
  const name = rest.slice(0, q);
  if (!names.includes(name)) return 'no';
  const after = rest.slice(q);
  if (after.length < MID.length) return MID.startsWith(after) ? 'maybe' : 'no';
  if (!after.startsWith(MID)) return 'no';
  return { name, argsAt: lead + HEAD.length + q + MID.length };
}

/** The call a whole output makes, or undefined (not one, or not of a known tool). */
export function parseToolCall(text: string, names: readonly string[], id: string): ToolCall | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length !== 2 || typeof o.name !== 'string' || !names.includes(o.name)) return undefined;
  if (typeof o.arguments !== 'object' || o.arguments === null || Array.isArray(o.arguments)) return undefined;
  const p = callPrefix(text, names);
  const raw = typeof p === 'object' ? text.slice(p.argsAt, text.lastIndexOf('}')).trim() : '';
  let args = JSON.stringify(o.arguments);
  try {
    if (raw !== '' && JSON.stringify(JSON.parse(raw)) === args) args = raw; // the model's own text, as streamed
  } catch {
    // keep the re-serialized arguments
  }
  return { id, type: 'function', function: { name: o.name, arguments: args } };
}

/** What a streamed output becomes, piece by piece. */
export type StreamPiece =
  | { readonly kind: 'content'; readonly text: string }
  | { readonly kind: 'callStart'; readonly call: ToolCall }
  | { readonly kind: 'arguments'; readonly text: string };

/** Streamed output with tools: decides between content and a call, and splits the call into deltas. */
export class ToolCallStream {
  private buf = '';
  private state: 'undecided' | 'content' | 'call' = 'undecided';
  private argsAt = 0;
  private sent = 0;

  constructor(private readonly names: readonly string[], private readonly id: string) {}

  get isCall(): boolean {
    return this.state === 'call';
  }

  push(text: string): StreamPiece[] {
    if (this.state === 'content') return text === '' ? [] : [{ kind: 'content', text }];
    this.buf += text;
    if (this.state === 'undecided') {
      const p = callPrefix(this.buf, this.names);
      if (p === 'maybe') return [];
      if (p === 'no') {
        this.state = 'content';
        return [{ kind: 'content', text: this.buf }];
      }
      this.state = 'call';
      this.argsAt = p.argsAt;
      this.sent = p.argsAt;
      return [{ kind: 'callStart', call: { id: this.id, type: 'function', function: { name: p.name, arguments: '' } } }, ...this.args(false)];
    }
    return this.args(false);
  }

  /** The rest at the end of the output. */
  end(): StreamPiece[] {
    if (this.state === 'undecided') {
      this.state = 'content';
      return this.buf === '' ? [] : [{ kind: 'content', text: this.buf }];
    }
    return this.state === 'call' ? this.args(true) : [];
  }

  /** Arguments text not yet sent; until the end the last non-blank character (the closing brace) is held. */
  private args(final: boolean): StreamPiece[] {
    const body = this.buf.trimEnd();
    let upTo = body.length - 1;
    if (final && !body.endsWith('}')) upTo = body.length; // cut short (length): send all there is
    if (upTo <= this.sent) return [];
    const text = this.buf.slice(this.sent, upTo);
    this.sent = upTo;
    return [{ kind: 'arguments', text }];
  }

  /** The whole output (for the end: whether it was a complete, valid call). */
  get text(): string {
    return this.buf;
  }

  get argumentsStart(): number {
    return this.argsAt;
  }
}
