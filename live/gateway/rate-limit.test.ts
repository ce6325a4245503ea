// Per-key rate limits come from the core's token buckets: 429, Retry-After in seconds, OpenAI shape.
import { describe, expect, it } from 'vitest';
import { METRIC } from './metrics-names.js';
import { API_KEY_2, chatBody, startHarness, type JsonResponse } from './test-harness.js';

describe('rate limiting', () => {
  it('answers 429 with Retry-After once a key exceeds its requests per minute, other keys unaffected', async () => {
    const h = await startHarness({ core: { rateLimit: { enabled: true, requestsPerMinute: 3, tokensPerMinute: 1_000_000 } } });
    try {
      const statuses: number[] = [];
      let limited: JsonResponse | undefined;
      for (let i = 0; i < 5; i++) {
        const r = await h.fetch('/v1/chat/completions', { json: chatBody(`request ${i}`, { temperature: 1 }) });
        statuses.push(r.status);
        if (r.status === 429) limited ??= r;
        else await r.text();
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.slice(3)).toEqual([429, 429]);
      const retryAfter = Number(limited!.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect((await limited!.json()).error).toMatchObject({ code: 'rate_limited', type: 'rate_limit_error' });
      const other = await h.fetch('/v1/chat/completions', { json: chatBody('other key'), key: API_KEY_2 });
      expect(other.status).toBe(200);
      expect(await h.metric(METRIC.rateLimited)).toBe(2);
      const streamed = await h.fetch('/v1/chat/completions', { json: chatBody('stream', { stream: true }) });
      expect(streamed.status).toBe(429);
      expect(streamed.headers.get('content-type')).toContain('application/json');
    } finally {
      await h.close();
    }
  });
});
