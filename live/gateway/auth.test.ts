// API keys, the admin key and JWTs (HS256 and RS256 via jose) on every endpoint but /health and /ready.
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, chatBody, JWT_SECRET, startHarness, type Harness } from './test-harness.js';

const secret = new TextEncoder().encode(JWT_SECRET);
const hs256 = (claims: Record<string, unknown>, exp: string | number = '5m') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt().setExpirationTime(exp).sign(secret);

function b64url(o: object): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('authentication', () => {
  let h: Harness;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(rsa.publicKey);
    h = await startHarness({ config: { auth: { apiKeys: [API_KEY], adminKey: ADMIN_KEY, jwt: { hs256Secret: JWT_SECRET, rs256PublicKeyPem: pem, audience: 'mlx-serving' } } } });
  });
  afterAll(() => h.close());

  const chat = (token: string | null) => h.fetch('/v1/chat/completions', { json: chatBody('hi'), key: token });

  it('needs no key for /health and /ready', async () => {
    expect((await h.fetch('/health', { key: null })).status).toBe(200);
    expect((await h.fetch('/ready', { key: null })).status).toBe(200);
  });

  it('refuses a missing or unknown key with 401 invalid_api_key, on every API route', async () => {
    for (const [path, init] of [['/v1/chat/completions', { json: chatBody('hi') }], ['/v1/models', {}], ['/metrics', {}], ['/admin/cache', {}]] as const) {
      for (const key of [null, 'sk-not-a-real-key']) {
        const r = await h.fetch(path, { ...init, key });
        expect(r.status, `${path} ${key}`).toBe(401);
        expect((await r.json()).error).toMatchObject({ code: 'invalid_api_key', type: 'invalid_request_error' });
      }
    }
  });

  it('accepts the key as Bearer or x-api-key', async () => {
    expect((await chat(API_KEY)).status).toBe(200);
    expect((await h.fetch('/v1/models', { key: null, headers: { 'x-api-key': API_KEY } })).status).toBe(200);
  });

  it('admin endpoints need the admin key: 403 for a user key', async () => {
    const r = await h.fetch('/admin/cache', { key: API_KEY });
    expect(r.status).toBe(403);
    expect((await r.json()).error.code).toBe('forbidden');
    expect((await h.fetch('/admin/cache', { key: ADMIN_KEY })).status).toBe(200);
    expect((await h.fetch('/v1/models', { key: ADMIN_KEY })).status).toBe(200);
  });

  it('accepts a valid HS256 JWT with the right audience', async () => {
    expect((await chat(await hs256({ aud: 'mlx-serving' }))).status).toBe(200);
  });

  it('refuses an expired JWT, a wrong audience, a missing exp, a bad signature', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    expect((await chat(await hs256({ aud: 'mlx-serving' }, past))).status).toBe(401);
    expect((await chat(await hs256({ aud: 'someone-else' }))).status).toBe(401);
    const noExp = await new SignJWT({ aud: 'mlx-serving' }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    expect((await chat(noExp)).status).toBe(401);
    const forged = await new SignJWT({ aud: 'mlx-serving' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(40)));
    expect((await chat(forged)).status).toBe(401);
  });

  it('refuses alg none and HS256 signed with the RSA public key (algorithm confusion)', async () => {
    const exp = Math.floor(Date.now() / 1000) + 300;
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ aud: 'mlx-serving', exp, sub: 'mallory' })}.`;
    expect((await chat(none)).status).toBe(401);
    const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const confused = await new SignJWT({ aud: 'mlx-serving' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(pem);
    expect((await chat(confused)).status).toBe(401);
  });

  it('accepts a valid RS256 JWT', async () => {
    const t = await new SignJWT({ aud: 'mlx-serving' }).setProtectedHeader({ alg: 'RS256' }).setSubject('bob').setExpirationTime('5m').sign(rsa.privateKey);
    expect((await chat(t)).status).toBe(200);
  });
});
