// Runs an echo worker as a process: tsx live/echo/main.ts --id w1 --address 127.0.0.1:50051
//   [--models echo,other] [--token-delay-ms 0] [--first-token-delay-ms 0] [--max-concurrent 64]
//   [--repeat-to-max-tokens] (cycle through the prompt's words up to max_tokens: long streams from short prompts)
// Prints one line `{"ready":true,"address":"…"}` on stdout once bound (parents wait for it).
import { parseArgs } from 'node:util';
import { startEchoWorker } from './echo-worker.js';

const { values } = parseArgs({
  options: {
    id: { type: 'string', default: 'echo-1' },
    address: { type: 'string', default: '127.0.0.1:0' },
    models: { type: 'string', default: 'echo' },
    'token-delay-ms': { type: 'string', default: '0' },
    'first-token-delay-ms': { type: 'string', default: '0' },
    'max-concurrent': { type: 'string', default: '64' },
    'repeat-to-max-tokens': { type: 'boolean', default: false },
  },
});

const worker = await startEchoWorker({
  id: values.id,
  address: values.address,
  models: values.models.split(',').filter((m) => m.length > 0),
  tokenDelayMs: Number(values['token-delay-ms']),
  firstTokenDelayMs: Number(values['first-token-delay-ms']),
  maxConcurrent: Number(values['max-concurrent']),
  repeatToMaxTokens: values['repeat-to-max-tokens'],
});
process.stdout.write(`${JSON.stringify({ ready: true, id: worker.id, address: worker.address })}\n`);

const shutdown = () => {
  void worker.stop().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
