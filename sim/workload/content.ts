// Content shared by the open and closed loops: validation of the content options and the duplicate
// (hot set) picker — with probability `ratio` a request repeats one of `hotSetSize` hot prompts,
// chosen by Zipf rank; hot prompts are created lazily and kept (bounded by hotSetSize).
import type { Rng } from '../../core/types.js';
import { zipfSampler, ZIPF_SIZE_MAX } from '../rng/samplers.js';
import { sampleLength, validateLength, TOKENS_MAX } from './lengths.js';
import type { HotPrompt, RequestFactory } from './requests.js';
import { checkNumber, WorkloadError, type ContentConfig, type SimRequest } from './types.js';
import { isTenantName, TENANT_NAME_RULE } from '../../core/config/tenant-name.js';

export function validateContent(c: ContentConfig): void {
  if (typeof c.model !== 'string' || c.model.length === 0) throw new WorkloadError('model', 'must be a non-empty string');
  validateLength('promptTokens', c.promptTokens);
  validateLength('outputTokens', c.outputTokens);
  if (c.sharedPrefixTokens !== undefined) checkNumber('sharedPrefixTokens', c.sharedPrefixTokens, { min: 0, max: TOKENS_MAX, integer: true });
  if (c.temperature !== undefined) checkNumber('temperature', c.temperature, { min: 0, max: 2 });
  if (c.contextTokensMax !== undefined) checkNumber('contextTokensMax', c.contextTokensMax, { min: 1, max: TOKENS_MAX, integer: true });
  if (c.duplicates) {
    checkNumber('duplicates.ratio', c.duplicates.ratio, { min: 0, max: 1 });
    checkNumber('duplicates.hotSetSize', c.duplicates.hotSetSize, { min: 1, max: ZIPF_SIZE_MAX, integer: true });
    checkNumber('duplicates.zipfExponent', c.duplicates.zipfExponent, { min: 0, max: 10 });
  }
  if (c.constrained) checkNumber('constrained.ratio', c.constrained.ratio, { min: 0, max: 1 });
  if (c.tenant !== undefined && !isTenantName(c.tenant)) throw new WorkloadError('tenant', `${TENANT_NAME_RULE}, got ${JSON.stringify(c.tenant)}`);
}

export class DuplicatePicker {
  private readonly hot: (HotPrompt | undefined)[] = [];
  private readonly rank: () => number;

  constructor(private readonly c: ContentConfig, private readonly factory: RequestFactory, private readonly rng: Rng) {
    const d = c.duplicates!;
    this.rank = zipfSampler(rng, d.hotSetSize, d.zipfExponent);
  }

  /** A duplicate request with probability ratio, otherwise undefined. */
  maybe(arrivalMs: number): SimRequest | undefined {
    if (this.rng() >= this.c.duplicates!.ratio) return undefined;
    const k = this.rank();
    let h = this.hot[k];
    if (!h) {
      h = this.factory.hotPrompt(k, sampleLength(this.c.promptTokens, this.rng), sampleLength(this.c.outputTokens, this.rng));
      this.hot[k] = h;
    }
    return this.factory.duplicate(h, arrivalMs);
  }
}
