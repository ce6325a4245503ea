// GPU pinning (issue 20): the mapping worker node → GPU, the option and environment variable, and —
// end to end, no mock — that a cluster started for a live run gives each worker node and its python
// runtime CUDA_VISIBLE_DEVICES = its index mod the GPU count (read from /proc/<pid>/environ).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, LiveRunError, ProcessSet } from '../../live/shared/processes.js';
import { processTree } from '../../live/shared/proc-stats.js';
import { ensureModel, startCluster } from './servers.js';
import { gpuOfWorker, LIVE_GPUS_ENV, parseLiveGpus, pinnedEnv, pinningMap, resolveLiveGpus } from './gpu-pinning.js';

function envOf(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(raw.split('\0').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

describe('GPU pinning', () => {
  it('maps worker node i to GPU i mod G', () => {
    expect([0, 1, 2, 3, 4, 5].map((i) => gpuOfWorker(i, 4))).toEqual([0, 1, 2, 3, 0, 1]);
    expect([0, 1, 2].map((i) => gpuOfWorker(i, 1))).toEqual([0, 0, 0]);
    expect(pinningMap(3, 2)).toBe('w0 → GPU 0, w1 → GPU 1, w2 → GPU 0');
    expect(() => gpuOfWorker(-1, 4)).toThrow(/non-negative/);
    expect(() => gpuOfWorker(0, 0)).toThrow(/positive/);
  });

  it('sets CUDA_VISIBLE_DEVICES over the given environment and keeps the rest', () => {
    const env = pinnedEnv(5, 4, { PATH: '/bin', CUDA_VISIBLE_DEVICES: '0,1,2,3' });
    expect(env).toEqual({ PATH: '/bin', CUDA_VISIBLE_DEVICES: '1' });
  });

  it('accepts 1–16 and refuses anything else by name, from the option first, else the environment', () => {
    expect(parseLiveGpus('1')).toBe(1);
    expect(parseLiveGpus('16')).toBe(16);
    for (const bad of ['0', '17', '2.5', '-1', 'four', '', ' 4']) expect(parseLiveGpus(bad), bad).toBeUndefined();
    expect(resolveLiveGpus('4', { [LIVE_GPUS_ENV]: '2' })).toBe(4);
    expect(resolveLiveGpus(undefined, { [LIVE_GPUS_ENV]: '2' })).toBe(2);
    expect(resolveLiveGpus(undefined, {})).toBeUndefined();
    expect(resolveLiveGpus(undefined, { [LIVE_GPUS_ENV]: '' })).toBeUndefined();
    expect(() => resolveLiveGpus('0', {})).toThrow('--live-gpus must be an integer in [1, 16], got 0');
    expect(() => resolveLiveGpus(undefined, { [LIVE_GPUS_ENV]: 'x' })).toThrow(`${LIVE_GPUS_ENV} must be an integer in [1, 16], got x`);
    expect(() => resolveLiveGpus('', {})).toThrow(LiveRunError);
  });

  it('a live cluster of 3 worker nodes on 2 GPUs: each node and its python runtime see CUDA_VISIBLE_DEVICES = i mod 2', async () => {
    const modelDir = ensureModel('tiny', () => undefined);
    const ps = new ProcessSet();
    const runDir = mkdtempSync(join(tmpdir(), 'gpu-pin-'));
    try {
      const server = await startCluster(ps, { modelDir, modelId: 'tiny', port: await freePort(), workers: 3, maxSequences: 2, core: {}, runDir, gpus: 2 });
      const nodes = server.processes.slice(0, 3);
      for (const [i, node] of nodes.entries()) {
        const tree = processTree(node.pid!);
        const runtimes = tree.filter((r) => r.pid !== node.pid && /python/.test(r.command));
        expect(runtimes.length, `w${i}: ${JSON.stringify(tree)}`).toBeGreaterThan(0);
        for (const r of [tree[0]!, ...runtimes]) expect(envOf(r.pid).CUDA_VISIBLE_DEVICES, `w${i} pid ${r.pid} (${r.command})`).toBe(String(i % 2));
      }
      // The gateway is not pinned: it inherits this process's environment.
      expect(envOf(server.processes[3]!.pid!).CUDA_VISIBLE_DEVICES).toBe(process.env.CUDA_VISIBLE_DEVICES);
    } finally {
      await ps.stopAll();
      rmSync(runDir, { recursive: true, force: true });
    }
  }, 120_000);
});
