// The gateway's OpenAPI 3.1 document, generated from the route schemas Fastify validates and
// serializes with (so it cannot drift from what the gateway enforces), served at GET /openapi.json.
// Also: 405 method_not_allowed (with Allow) for a known path under the wrong method, which needs the
// same route table.
//
// Fastify response keys "4xx"/"5xx" become OpenAPI's "4XX"/"5XX"; HEAD routes (Fastify's automatic
// ones) are left out; ":id" path parameters become "{id}". Routes without a response schema are
// documented as application/json (anything) plus the error shape.
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ERROR_SCHEMA } from './errors.js';

interface RouteRecord {
  readonly method: string;
  readonly url: string;
  readonly schema: Record<string, unknown> | undefined;
  readonly public: boolean;
  /** The route may answer 200 as text/event-stream (route config `{ sse: true }`). */
  readonly sse: boolean;
}

/** Paths that need no credential (liveness, readiness). */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/health', '/ready']);

export class RouteTable {
  private readonly routes: RouteRecord[] = [];
  private patterns: { re: RegExp; methods: Set<string> }[] | undefined;

  /** Call right after creating the app, before any route is registered. */
  attach(app: FastifyInstance): void {
    app.addHook('onRoute', (r: RouteOptions) => {
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      for (const m of methods) {
        this.routes.push({ method: m.toUpperCase(), url: r.url, schema: r.schema as Record<string, unknown> | undefined, public: PUBLIC_PATHS.has(r.url), sse: (r.config as { sse?: boolean } | undefined)?.sse === true });
      }
      this.patterns = undefined;
    });
  }

  /** The methods a concrete path answers to (empty: unknown path). */
  methodsOf(path: string): string[] {
    this.patterns ??= this.compile();
    const out = new Set<string>();
    for (const p of this.patterns) if (p.re.test(path)) for (const m of p.methods) out.add(m);
    return [...out].sort();
  }

  private compile(): { re: RegExp; methods: Set<string> }[] {
    const byUrl = new Map<string, Set<string>>();
    for (const r of this.routes) {
      const set = byUrl.get(r.url) ?? new Set<string>();
      set.add(r.method);
      byUrl.set(r.url, set);
    }
    return [...byUrl].map(([url, methods]) => ({
      re: new RegExp(`^${url.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}/?$`),
      methods,
    }));
  }

  document(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      if (r.method === 'HEAD' || r.method === 'OPTIONS') continue;
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      paths[path] ??= {};
      paths[path]![r.method.toLowerCase()] = operation(r);
    }
    return {
      openapi: '3.1.0',
      info: { ...info, description: 'OpenAI-compatible gateway of mlx-serving (generated from the route schemas).' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key, admin key or JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
        schemas: { Error: ERROR_SCHEMA },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
      paths,
    };
  }
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** One SSE event (OpenAPI 3.1: the media type's schema describes each event): `data:` is a chunk's
 *  JSON object, an `{"error": …}` object on failure, or the final `[DONE]`. */
const SSE_EVENT_SCHEMA = {
  type: 'object',
  required: ['data'],
  properties: { data: { type: 'string', pattern: '^(\\[DONE\\]|\\{[\\s\\S]*\\})$' }, event: { type: 'string' } },
} as const;

function operation(r: RouteRecord): Record<string, unknown> {
  const s = r.schema ?? {};
  const op: Record<string, unknown> = { operationId: `${r.method.toLowerCase()}${r.url.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}` };
  if (r.public) op.security = [];
  const params = [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 128 } }));
  if (params.length > 0) op.parameters = params;
  if (s.body !== undefined) {
    const body = s.body as { type?: unknown };
    const optional = Array.isArray(body.type) && body.type.includes('null');
    op.requestBody = { required: !optional, content: { 'application/json': { schema: body } } };
  }
  const responses: Record<string, unknown> = {};
  const declared = s.response as Record<string, unknown> | undefined;
  if (declared !== undefined) {
    for (const [code, schema] of Object.entries(declared)) {
      const key = /^[45]xx$/.test(code) ? code.toUpperCase() : code;
      const content: Record<string, unknown> = { 'application/json': { schema: /^[45]XX$/.test(key) ? ERROR_REF : schema } };
      if (key === '200' && r.sse) content['text/event-stream'] = { schema: SSE_EVENT_SCHEMA };
      responses[key] = { description: key, content };
    }
  } else if (r.url === '/metrics') {
    responses['200'] = { description: 'Prometheus text exposition', content: { 'text/plain': { schema: { type: 'string' } } } };
  } else {
    responses['200'] = { description: 'OK', content: { 'application/json': { schema: {} } } };
  }
  responses['4XX'] ??= { description: 'client error', content: { 'application/json': { schema: ERROR_REF } } };
  responses['5XX'] ??= { description: 'server error', content: { 'application/json': { schema: ERROR_REF } } };
  op.responses = responses;
  return op;
}
