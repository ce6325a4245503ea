// Usage accounting per tenant through the real gateway (auth.tenants, usage.path, usage.costs), with the
// official openai client: GET /admin/usage sums what the responses said, by tenant and model, priced;
// a restarted gateway on the same file starts from it; bad queries get an OpenAI error object.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startHarness, type Harness } from './test-harness.js';

const A = 'sk-tenant-a-0001';
const B = 'sk-tenant-b-0001';
const dir = mkdtempSync(join(tmpdir(), 'gw-usage-'));
const config = {
  auth: { apiKeys: [], adminKey: ADMIN_KEY, tenants: { teamA: { apiKeys: [A] }, teamB: { apiKeys: [B] } } },
  usage: { path: join(dir, 'usage.sqlite'), flushMs: 50, costs: { echo: { promptPerMillionTokens: 1000, completionPerMillionTokens: 2000 } }, budgets: { teamB: { tokensPerMonth: 1 } } },
};

describe('usage per tenant (live gateway, openai client)', () => {
  let h: Harness | undefined;
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = (key: string, content: string) =>
    new OpenAI({ apiKey: key, baseURL: `${h!.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'echo', messages: [{ role: 'user', content }], max_tokens: 4 });
  const usage = async (query = '') => (await h!.fetch(`/admin/usage${query}`, { key: ADMIN_KEY })).json();

  it('counts what each response said, by tenant, and prices it', async () => {
    h = await startHarness({ config });
    const r1 = await ask(A, 'one two three');
    const r2 = await ask(A, 'four five six seven');
    const r3 = await ask(B, 'eight');
    const u = await usage();
    expect(u.persisted).toBe(true);
    const a = u.data.find((r: { tenant: string }) => r.tenant === 'teamA');
    const b = u.data.find((r: { tenant: string }) => r.tenant === 'teamB');
    expect(a).toMatchObject({ model: 'echo', requests: 2, promptTokens: r1.usage!.prompt_tokens + r2.usage!.prompt_tokens, completionTokens: r1.usage!.completion_tokens + r2.usage!.completion_tokens });
    expect(a.cost).toBeCloseTo((a.promptTokens * 1000 + a.completionTokens * 2000) / 1e6, 9);
    expect(b).toMatchObject({ requests: 1, promptTokens: r3.usage!.prompt_tokens });
    expect((await usage('?tenant=teamB')).data).toHaveLength(1);
    expect(await h!.metric('mlx_serving_tenant_requests_total', { tenant: 'teamA' })).toBe(2);
    expect(await h!.metric('mlx_serving_tenant_tokens_total', { tenant: 'teamA', kind: 'completion' })).toBe(a.completionTokens);
    expect(a.day).toBe(new Date().toISOString().slice(0, 10));
  });

  it('a tenant past its monthly token budget gets 429 insufficient_quota; the others are served', async () => {
    const err = await ask(B, 'nine').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('insufficient_quota');
    expect((await ask(A, 'ten')).choices[0]!.message.content).toBeTruthy();
  });

  it('a restarted gateway on the same file starts from it', async () => {
    await h!.close();
    h = await startHarness({ config });
    await ask(A, 'again');
    expect((await usage('?tenant=teamA')).data[0].requests).toBe(4);
    expect((await ask(B, 'eleven').then(() => 'served', () => 'refused'))).toBe('refused'); // the budget survives the restart
  });

  it('refuses a bad query with an OpenAI error object, and a user key with 403', async () => {
    const bad = await h!.fetch('/admin/usage?from=yesterday', { key: ADMIN_KEY });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ type: 'invalid_request_error' });
    expect((await h!.fetch('/admin/usage?colour=red', { key: ADMIN_KEY })).status).toBe(400);
    expect((await h!.fetch('/admin/usage', { key: A })).status).toBe(403);
  });
});
