// A bounded soak: mixed load (streamed and not, cacheable and not) on a gateway in front of 3 echo
// workers, all in this process, sampling RSS, heap and active handles every `sampleEveryMs`.
// Pass: RSS grows by at most `rssGrowthBoundMb` from the first sample after warm-up to the last, and
// the active handles return to within `handleSlack` of the start once everything is stopped (no
// leaked sockets, timers or servers).
import { setTimeout as sleep } from 'node:timers/promises';
import { startEchoWorker } from '../echo/echo-worker.js';
import { buildGateway } from '../gateway/gateway.js';
import { resolveLiveConfig } from '../shared/config.js';
import { startLoad } from './fault-scenarios.js';

export interface SoakSample { tMs: number; rssMb: number; heapMb: number; handles: number }
export interface SoakResult {
  durationMs: number; sent: number; failed: number; samples: SoakSample[];
  rssGrowthMb: number; rssGrowthBoundMb: number; handlesBefore: number; handlesAfter: number; handleSlack: number; pass: boolean;
}

const handles = () => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
const MB = 1024 * 1024;

export async function soak(o: { durationMs: number; sampleEveryMs: number; concurrency: number; rssGrowthBoundMb?: number }): Promise<SoakResult> {
  const bound = o.rssGrowthBoundMb ?? 64;
  const handleSlack = 4;
  const handlesBefore = handles();
  const echoes = await Promise.all([1, 2, 3].map((i) => startEchoWorker({ id: `w${i}`, models: ['echo'], tokenDelayMs: 2 })));
  const gw = buildGateway({
    config: resolveLiveConfig({
      listen: { host: '127.0.0.1', port: 0 }, auth: { apiKeys: ['sk-soak-key-0001'] }, logLevel: 'silent',
      workers: echoes.map((e) => ({ id: e.id, address: e.address })), core: { health: { heartbeatIntervalMs: 500, missesMax: 6 } },
    }),
    logger: false,
  });
  const url = await gw.start();
  const t0 = Date.now();
  const samples: SoakSample[] = [];
  const sample = () => {
    const m = process.memoryUsage();
    samples.push({ tMs: Date.now() - t0, rssMb: m.rss / MB, heapMb: m.heapUsed / MB, handles: handles() });
  };
  const loads = [
    startLoad({ url, apiKey: 'sk-soak-key-0001', model: 'echo', concurrency: Math.ceil(o.concurrency / 2), streamRatio: 0.5, maxTokens: 16, prompt: 'a b c d e f g h i j k l m n o p', clientTimeoutMs: 30_000 }),
    startLoad({ url, apiKey: 'sk-soak-key-0001', model: 'echo', concurrency: Math.floor(o.concurrency / 2), streamRatio: 0.3, maxTokens: 64, prompt: 'the quick brown fox jumps over the lazy dog '.repeat(20), clientTimeoutMs: 30_000 }),
  ];
  while (Date.now() - t0 < o.durationMs) {
    sample();
    await sleep(o.sampleEveryMs);
  }
  sample();
  const summaries = await Promise.all(loads.map((l) => l.stop()));
  await gw.stop();
  await Promise.all(echoes.map((e) => e.stop()));
  await sleep(500);
  const handlesAfter = handles();
  const warm = samples[Math.min(2, samples.length - 1)]!;
  const rssGrowthMb = samples.at(-1)!.rssMb - warm.rssMb;
  const sent = summaries.reduce((s, x) => s + x.sent, 0);
  const failed = summaries.reduce((s, x) => s + x.sent - x.ok, 0);
  return {
    durationMs: Date.now() - t0, sent, failed, samples, rssGrowthMb, rssGrowthBoundMb: bound, handlesBefore, handlesAfter, handleSlack,
    pass: rssGrowthMb <= bound && handlesAfter <= handlesBefore + handleSlack && failed === 0,
  };
}
