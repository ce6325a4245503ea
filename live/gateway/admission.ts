// The one way a completion request enters the core, whatever API it came in (OpenAI's chat and
// completions, Anthropic's messages mapped onto a chat body by anthropic-mapping.ts): fields refused
// by name, sampling and tool_choice checked, the body mapped to the core's InferenceRequest, the prompt
// bound checked. Each refusal is a GatewayHttpError naming the parameter; the route renders it in its
// API's error shape.
import type { FastifyRequest } from 'fastify';
import type { InferenceRequest } from '../../core/index.js';
import { identityOf, type GatewayContext } from './context.js';
import { GatewayHttpError } from './errors.js';
import type { ChatBody, CompletionBody, SamplingBody } from './openai-schemas.js';
import { chatRequest, completionRequest, samplingOf, toolChoiceProblem, toolModeOf, type RequestContext } from './request-mapping.js';
import { unsupportedInChat, unsupportedInCompletion } from './unsupported.js';

const SESSION_ID_MAX = 256;

export type CompletionKind = 'chat' | 'completion';

export function admitCompletion(ctx: GatewayContext, request: FastifyRequest, kind: CompletionKind, body: ChatBody | CompletionBody): InferenceRequest {
  const refusal = kind === 'chat' ? unsupportedInChat(body as ChatBody) : unsupportedInCompletion(body as CompletionBody);
  if (refusal !== undefined) throw new GatewayHttpError(refusal.code, refusal.message, refusal.param);
  checkSampling(body, ctx);
  if (kind === 'chat') {
    const problem = toolChoiceProblem(body);
    if (problem !== undefined) throw new GatewayHttpError('invalid_request', problem.message, problem.param);
    const rf = (body as { response_format?: { type?: unknown } | null }).response_format;
    if (toolModeOf(body).mode === 'forced' && rf != null && rf.type !== 'text') {
      throw new GatewayHttpError('invalid_request', 'an enforced tool call (tool_choice "required" or a named function) and a response_format cannot both constrain the output', 'tool_choice');
    }
  }
  const id = ctx.nextRequestId();
  const rc = requestContext(request, id, body.user);
  checkBudget(ctx, rc.tenant);
  const req = kind === 'chat' ? chatRequest(body as ChatBody, rc, ctx.config.limits) : completionRequest(body as CompletionBody, rc, ctx.config.limits);
  if (req.promptTokens > ctx.config.limits.promptTokensMax) {
    const param = kind === 'chat' ? 'messages' : 'prompt';
    throw new GatewayHttpError('context_length_exceeded', `The prompt is about ${req.promptTokens} tokens (estimated as UTF-8 bytes / 3); at most ${ctx.config.limits.promptTokensMax} are accepted.`, param);
  }
  // Admitted: its trace starts here (request-tracing.ts; nothing when tracing is off).
  ctx.driver.tracer?.begin(req, request.headers, request.routeOptions.url ?? '', String(request.id));
  return req;
}

/** A tenant past its monthly token budget (usage.budgets) is refused with 429 insufficient_quota. */
function checkBudget(ctx: GatewayContext, tenant: string | undefined): void {
  const budget = tenant === undefined ? undefined : ctx.config.usage.budgets[tenant];
  if (budget !== undefined && ctx.usage.tokensThisMonth(tenant) >= budget.tokensPerMonth) {
    throw new GatewayHttpError('insufficient_quota', `Tenant ${tenant} has used its ${budget.tokensPerMonth} tokens of this month (usage.budgets).`);
  }
}

function checkSampling(body: SamplingBody, ctx: GatewayContext): void {
  const s = samplingOf(body, ctx.config.limits);
  if ('param' in s) throw new GatewayHttpError('invalid_request', s.message, s.param);
}

function requestContext(request: FastifyRequest, id: string, user: string | undefined): RequestContext {
  const h = request.headers;
  const headerSession = h['x-session-id'];
  const sessionId = typeof headerSession === 'string' && headerSession.length > 0 ? headerSession.slice(0, SESSION_ID_MAX) : user;
  const cc = h['cache-control'];
  const bypass = h['x-cache-bypass'];
  const cacheBypass = (typeof cc === 'string' && /\bno-cache\b|\bno-store\b/i.test(cc)) || bypass === '1' || bypass === 'true';
  const identity = identityOf(request);
  return { id, apiKey: identity?.id, tenant: identity?.tenant, sessionId, cacheBypass };
}
