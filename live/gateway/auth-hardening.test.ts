// Credentials never reach the logs (the production logger, at trace level, captured), JWT issuer and
// algorithm are pinned, and every route but /health and /ready needs a credential.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoWorker, type EchoWorker } from '../echo/echo-worker.js';
import { resolveLiveConfig } from '../shared/config.js';
import { buildGateway, type Gateway } from './gateway.js';
import { PUBLIC_PATHS } from './openapi.js';
import { chatBody, type J } from './test-harness.js';

const KEY = 'sk-secret-user-key-7f3a9c';
const ADMIN = 'sk-secret-admin-key-b81e2d';
const WRONG = 'sk-secret-wrong-key-41c0aa';
const JWT_SECRET = 'jwt-secret-that-must-never-be-logged-0123456789';

describe('auth hardening', () => {
  let worker: EchoWorker;
  let gw: Gateway;
  let url: string;
  const lines: string[] = [];
  beforeAll(async () => {
    worker = await startEchoWorker({ id: 'w1', models: ['echo'] });
    const config = resolveLiveConfig({
      listen: { host: '127.0.0.1', port: 0 },
      auth: { apiKeys: [KEY], adminKey: ADMIN, jwt: { hs256Secret: JWT_SECRET, audience: 'mlx', issuer: 'https://issuer.example' } },
      workers: [{ id: worker.id, address: worker.address }],
      logLevel: 'trace',
      core: { health: { heartbeatIntervalMs: 200, missesMax: 10 } },
    });
    gw = buildGateway({ config, logStream: { write: (l: string) => void lines.push(l) } });
    url = await gw.start();
  });
  afterAll(async () => {
    await gw?.stop();
    worker?.kill();
  });

  const jwt = (claims: Record<string, unknown>, alg = 'HS256') =>
    new SignJWT(claims).setProtectedHeader({ alg }).setSubject('carol').setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET));
  const call = (path: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) }, ...(body !== undefined && { body: JSON.stringify(body) }) });

  it('pins the JWT issuer and algorithm', async () => {
    const ok = await jwt({ aud: 'mlx', iss: 'https://issuer.example' });
    expect((await call('/v1/models', { authorization: `Bearer ${ok}` })).status).toBe(200);
    expect((await call('/v1/models', { authorization: `Bearer ${await jwt({ aud: 'mlx', iss: 'https://evil.example' })}` })).status).toBe(401);
    expect((await call('/v1/models', { authorization: `Bearer ${await jwt({ aud: 'mlx' })}` })).status).toBe(401);
    expect((await call('/v1/models', { authorization: `Bearer ${await jwt({ aud: 'mlx', iss: 'https://issuer.example' }, 'HS512')}` })).status).toBe(401);
    // a JWT never grants the admin API
    expect((await call('/admin/cache', { authorization: `Bearer ${ok}` })).status).toBe(403);
  });

  it('every documented route but /health and /ready refuses a request without a credential', async () => {
    const doc: J = await (await call('/openapi.json', { authorization: `Bearer ${KEY}` })).json();
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) {
        const concrete = path.replace(/\{[^}]+\}/g, 'w1');
        const r = await fetch(`${url}${concrete}`, { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, ...(method === 'post' && { body: '{}' }) });
        expect(r.status, `${method} ${path}`).toBe(PUBLIC_PATHS.has(path) ? 200 : 401);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('never logs a key, a JWT or the JWT secret, whether accepted or refused', async () => {
    const token = await jwt({ aud: 'mlx', iss: 'https://issuer.example' });
    const forged = await new SignJWT({ aud: 'mlx' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('y'.repeat(48)));
    const variants: Record<string, string>[] = [
      { authorization: `Bearer ${KEY}` }, { 'x-api-key': KEY }, { authorization: `Bearer ${ADMIN}` }, { authorization: `Bearer ${WRONG}` },
      { 'x-api-key': WRONG }, { authorization: `Bearer ${token}` }, { authorization: `Bearer ${forged}` }, { authorization: `Basic ${KEY}` },
    ];
    for (const headers of variants) {
      await call('/v1/chat/completions', headers, chatBody('hello'));
      await call('/admin/cache', headers);
      await call('/v1/nothing', headers);
    }
    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(20); // trace level: requests and auth failures are logged
    expect(log).toContain('authentication failed');
    for (const secret of [KEY, ADMIN, WRONG, token, forged, JWT_SECRET, token.split('.')[2]!]) expect(log).not.toContain(secret);
  });
});
