// The outcomes of one version's attempts over a sliding window: a bounded FIFO of samples (ok or
// failed, and the time to first token of the served ones), trimmed by age when read.
import { invariant } from '../util/assert.js';
import type { VersionFigures } from './rollback.js';

interface Sample {
  readonly atMs: number;
  readonly ok: boolean;
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

  record(atMs: number, ok: boolean, ttftMs: number): void {
    this.samples.push({ atMs, ok, ttftMs });
    if (this.samples.length - this.head > this.samplesMax) this.head++;
    if (this.head > 1024 && this.head * 2 > this.samples.length) this.compact();
  }

  clear(): void {
    this.samples = [];
    this.head = 0;
  }

  figures(nowMs: number): VersionFigures {
    while (this.head < this.samples.length && this.samples[this.head]!.atMs <= nowMs - this.windowMs) this.head++;
    let errors = 0;
    const ttfts: number[] = [];
    for (let i = this.head; i < this.samples.length; i++) {
      const s = this.samples[i]!;
      if (s.ok) ttfts.push(s.ttftMs);
      else errors++;
    }
    return { requests: this.samples.length - this.head, errors, ttftP95Ms: p95(ttfts) };
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
