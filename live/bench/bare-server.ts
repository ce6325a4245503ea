// The baseline of the gateway benchmark: bare Fastify answering POST /v1/chat/completions with the
// same body the gateway returns (same response schema, so the same serializer), and nothing else:
// no auth, no request validation, no core, no worker. Prints {"ready":true,"url":…} when listening.
import Fastify from 'fastify';
import { CHAT_RESPONSE_SCHEMA } from '../gateway/openai-schemas.js';

const app = Fastify({ logger: false });
let n = 0;
app.post('/v1/chat/completions', { schema: { response: CHAT_RESPONSE_SCHEMA } }, async (request) => {
  const body = request.body as { model: string; messages: { content: string }[] };
  const text = body.messages[body.messages.length - 1]!.content;
  const words = text.split(' ').length;
  return {
    id: `chatcmpl-bare-${(n++).toString(36)}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: body.model, system_fingerprint: null,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: words, completion_tokens: words, total_tokens: 2 * words },
  };
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ ready: true, url })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
