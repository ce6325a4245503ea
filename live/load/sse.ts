// A minimal Server-Sent Events parser (the subset OpenAI-style streams use): events are separated
// by a blank line; `data:` lines are joined with "\n"; comment lines (":" first, mlx_lm.server's
// keep-alives) and other fields are ignored. Accepts LF and CRLF. Bounded: an event larger than
// `eventBytesMax` is an error (a broken server must not grow our buffer without end).

export class SseParser {
  private buf = '';

  constructor(private readonly eventBytesMax = 4 * 1024 * 1024) {}

  /** Feeds a chunk of the body; returns the data payloads of the events it completed. */
  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.buf);
      if (m === null) break;
      const block = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
      if (data.length > 0) out.push(data.join('\n'));
    }
    if (this.buf.length > this.eventBytesMax) throw new Error(`SSE event larger than ${this.eventBytesMax} bytes`);
    return out;
  }
}
