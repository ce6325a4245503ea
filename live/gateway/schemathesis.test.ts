// schemathesis (python/requirements-dev.txt, installed into python/.venv by python/setup-dev.sh) runs
// every check it has against a live gateway in front of two echo workers, from the OpenAPI document
// the gateway serves at /openapi.json: no 5xx, every response in its documented schema, schema-invalid
// bodies refused with 4xx, unknown methods 405, auth never ignored.
//
// Three runs, bounded (--max-examples, fixed --seed): the OpenAI inference and public routes with a
// user key (the document's `model` is narrowed to the served model so bodies reach the serving path;
// unknown models are covered by validation.test.ts); the Anthropic route, POST /v1/messages, without
// the positive_data_acceptance check (some of its refusals depend on several fields — a block's type
// and its message's role, a final assistant message, tool_choice naming a tool not offered — which
// its schema cannot say; anthropic-api.test.ts covers them); and the read-only admin routes with the
// admin key (drain and model load/unload change the cluster and are left to admin.test.ts).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, startHarness, type Harness, type J } from './test-harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCHEMATHESIS = join(ROOT, 'python/.venv/bin/schemathesis');
const EXAMPLES_MAX = Number(process.env.SCHEMATHESIS_EXAMPLES ?? 25);
const SEED = Number(process.env.SCHEMATHESIS_SEED ?? 20240601);

/** Narrows every request body's `model` to the served models. */
function servedModelsOnly(doc: J, models: string[]): J {
  for (const ops of Object.values(doc.paths) as J[]) {
    for (const op of Object.values(ops) as J[]) {
      const schema = op.requestBody?.content?.['application/json']?.schema;
      if (schema?.properties?.model !== undefined) schema.properties.model = { type: 'string', enum: models };
    }
  }
  return doc;
}

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCHEMATHESIS, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out }));
  });
}

describe('schemathesis against the gateway', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    const setup = spawnSync('bash', [join(ROOT, 'python/setup-dev.sh')], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 50_000 });
    expect(setup.status, 'python/setup-dev.sh').toBe(0);
    dir = mkdtempSync(join(tmpdir(), 'schemathesis-'));
    h = await startHarness({ workers: [{}, {}], config: { limits: { maxTokensMax: 512, requestTimeoutMs: 20_000 } } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('serves an OpenAPI 3.1 document of every route', async () => {
    const r = await h.fetch('/openapi.json');
    expect(r.status).toBe(200);
    const doc = await r.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/chat/completions', '/v1/completions', '/v1/embeddings', '/v1/models', '/v1/messages', '/health', '/ready', '/admin/cache']));
    expect(doc.paths['/health'].get.security).toEqual([]);
    expect(doc.paths['/v1/chat/completions'].post.requestBody.content['application/json'].schema.properties.max_tokens.maximum).toBe(512);
    expect((await h.fetch('/openapi.json', { key: null })).status).toBe(401);
  });

  const common = ['--checks', 'all', '--max-examples', String(EXAMPLES_MAX), '--seed', String(SEED), '--workers', '1',
    '--request-timeout', '30', '--generation-database', 'none', '--no-color', '--suppress-health-check', 'all'];

  it('finds no failure on the inference and public routes (user key)', async () => {
    const doc = servedModelsOnly(await (await h.fetch('/openapi.json')).json(), ['echo']);
    const path = join(dir, 'openapi-user.json');
    writeFileSync(path, JSON.stringify(doc));
    const { code, out } = await run(['run', path, '--url', h.url, '-H', `Authorization: Bearer ${API_KEY}`, '--exclude-path-regex', '^/admin|^/v1/messages$', ...common]);
    expect(out, out).toMatch(/SUMMARY/);
    expect(code, out).toBe(0);
  }, 90_000);

  it('finds no failure on the Anthropic route, schema-valid refusals aside (user key)', async () => {
    const doc = servedModelsOnly(await (await h.fetch('/openapi.json')).json(), ['echo']);
    const path = join(dir, 'openapi-anthropic.json');
    writeFileSync(path, JSON.stringify(doc));
    const { code, out } = await run(['run', path, '--url', h.url, '-H', `x-api-key: ${API_KEY}`, '--include-path-regex', '^/v1/messages$', '--exclude-checks', 'positive_data_acceptance', ...common]);
    expect(out, out).toMatch(/SUMMARY/);
    expect(out, out).toMatch(/Tested: 1\b/);
    expect(code, out).toBe(0);
  }, 90_000);

  it('finds no failure on the read-only admin routes (admin key)', async () => {
    const doc = await (await h.fetch('/openapi.json')).json();
    const path = join(dir, 'openapi-admin.json');
    writeFileSync(path, JSON.stringify(doc));
    const { code, out } = await run(['run', path, '--url', h.url, '-H', `Authorization: Bearer ${ADMIN_KEY}`, '--include-path-regex', '^/admin/(cache|workers)$', '--include-method', 'GET', ...common]);
    expect(out, out).toMatch(/SUMMARY/);
    expect(code, out).toBe(0);
  }, 90_000);
});
