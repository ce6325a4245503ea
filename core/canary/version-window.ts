// The outcomes of one version's attempts over a sliding window: a bounded FIFO of samples (an attempt
// ended ok or failed; a first token seen, with its time from dispatch), trimmed by age when read.
import { invariant } from '../util/assert.js';
import type { VersionFigures } from './rollback.js';

interface Sample {
  readonly atMs: number;
  readonly kind: 'ok' | 'error' | 'ttft';
  readonly ttftMs: number;
}

export class VersionWindow {
  private samples: Sample[] = [];
  private head = 0;

  constructor(
    private readonly windowMs: number,
    private readonly samplesMax: number,
  ) {
    invariant(samplesMax >= 1, 'a window holds at least one sample');
  }

  /** An attempt ended. */
  outcome(atMs: number, ok: boolean): void {
    this.push({ atMs, kind: ok ? 'ok' : 'error', ttftMs: 0 });
  }

  /** An attempt's first token, `ttftMs` after its dispatch. */
  firstToken(atMs: number, ttftMs: number): void {
    this.push({ atMs, kind: 'ttft', ttftMs });
  }

  private push(sample: Sample): void {
    this.samples.push(sample);
    if (this.samples.length - this.head > this.samplesMax) this.head++;
    if (this.head > 1024 && this.head * 2 > this.samples.length) this.compact();
  }

  clear(): void {
    this.samples = [];
    this.head = 0;
  }

  figures(nowMs: number): VersionFigures {
    while (this.head < this.samples.length && this.samples[this.head]!.atMs <= nowMs - this.windowMs) this.head++;
    let requests = 0;
    let errors = 0;
    const ttfts: number[] = [];
    for (let i = this.head; i < this.samples.length; i++) {
      const s = this.samples[i]!;
      if (s.kind === 'ttft') ttfts.push(s.ttftMs);
      else requests++;
      if (s.kind === 'error') errors++;
    }
    return { requests, errors, ttftSamples: ttfts.length, ttftP95Ms: p95(ttfts) };
  }

  private compact(): void {
    this.samples = this.samples.slice(this.head);
    this.head = 0;
  }
}

/** Nearest-rank p95: the ceil(0.95·n)-th smallest value. */
export function p95(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  return values[Math.ceil(0.95 * values.length) - 1];
}
