// Roles from JWTs (auth.jwt.roleClaim, auth.jwt.roles) through the real gateway: a token naming an
// accepted role gets it, a token without the claim is a user, a token naming a role not accepted from
// tokens is refused (401), never downgraded. The inference API through the official openai client.
import { SignJWT } from 'jose';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtRole } from './auth.js';
import { ADMIN_KEY, API_KEY, JWT_SECRET, startHarness, type Harness } from './test-harness.js';

const secret = new TextEncoder().encode(JWT_SECRET);
const token = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('carol').setExpirationTime('5m').sign(secret);

describe('roles from JWTs (live gateway)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: { auth: { apiKeys: [API_KEY], adminKey: ADMIN_KEY, jwt: { hs256Secret: JWT_SECRET, roleClaim: 'mlx_role', roles: ['user', 'operator'] } } } });
  });
  afterAll(() => h.close());

  it('a token naming operator runs the admin API\'s operations, not the admin-only routes', async () => {
    const op = await token({ mlx_role: 'operator' });
    expect((await h.fetch('/admin/workers', { key: op })).status).toBe(200);
    expect((await h.fetch('/admin/usage', { key: op })).status).toBe(403);
  });

  it('a token without the claim is a user: the inference API through the openai client, no admin route', async () => {
    const user = await token({});
    const client = new OpenAI({ apiKey: user, baseURL: `${h.url}/v1`, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    expect(r.choices[0]!.message.content).toBeTruthy();
    expect((await h.fetch('/admin/workers', { key: user })).status).toBe(403);
  });

  it('a token naming a role not accepted from tokens, or no role, is refused with 401', async () => {
    for (const claims of [{ mlx_role: 'admin' }, { mlx_role: 'root' }, { mlx_role: 7 }]) {
      const r = await h.fetch('/admin/workers', { key: await token(claims) });
      expect(r.status, JSON.stringify(claims)).toBe(401);
      expect((await r.json()).error.code).toBe('invalid_api_key');
    }
    const client = new OpenAI({ apiKey: await token({ mlx_role: 'admin' }), baseURL: `${h.url}/v1`, maxRetries: 0 });
    await expect(client.models.list()).rejects.toMatchObject({ status: 401 });
  });

  it('the rule itself', () => {
    const cfg = { hs256Secret: JWT_SECRET, roleClaim: 'r', roles: ['user', 'admin'] as const };
    expect(jwtRole(cfg, {})).toBe('user');
    expect(jwtRole(cfg, { r: 'admin' })).toBe('admin');
    expect(jwtRole(cfg, { r: 'operator' })).toEqual({ refused: 'jwt: role operator is not accepted from tokens (auth.jwt.roles)' });
    expect(jwtRole({ hs256Secret: JWT_SECRET }, { r: 'admin' })).toBe('user'); // no roleClaim: every token is a user
    expect(jwtRole({ hs256Secret: JWT_SECRET, roleClaim: 'r' }, { r: 'operator' })).toHaveProperty('refused'); // default: user only
  });
});
