// Live mode end to end on the tiny model: the smoke scenario against mlx_lm.server and the cluster
// (ratios computed, every process stopped), and bad input / faults ending with a clear error and
// no stray process: a port in use, a missing model, a baseline that fails to start.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveSmoke } from '../catalog/live.js';
import { runScenarioLive } from './live-run.js';
import { freePort, LiveRunError } from '../../live/shared/processes.js';
import { liveWorkload } from './scale.js';
import { ensureModel } from './servers.js';
import { VENV_PYTHON } from '../../live/shared/python.js';

/** Command lines of running processes that mention `needle`. */
function processesWith(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo'));
}

let modelDir = '';
beforeAll(() => {
  modelDir = ensureModel('tiny', () => undefined);
}, 600_000);

describe('live mode', () => {
  it('live-smoke: baseline and candidate measured, ratios computed, nothing left running', async () => {
    const port = await freePort();
    const r = await runScenarioLive(liveSmoke, { portBase: port, modelDir });
    expect(r.mode).toBe('live');
    expect(r.baseline!.requests).toBeGreaterThan(0);
    expect(r.candidate.requests).toBeGreaterThan(0);
    expect(r.baseline!.policy).toBe('direct engine');
    const tok = r.rows.find((x) => x.metric === 'output tok/s')!;
    expect(tok.ratio).not.toBeNull();
    expect(tok.ratio!).toBeGreaterThan(0);
    for (const m of ['TTFT p95', 'ITL p95', 'E2E p95']) expect(r.rows.find((x) => x.metric === m)!.ratio).not.toBeNull();
    expect(processesWith(`--port ${port + 1}`)).toEqual([]);
    expect(processesWith('"port": ' + String(port))).toEqual([]);
  }, 240_000);

  describe('bad input and faults', () => {
    let blocker: Server;
    let busyPort = 0;
    beforeAll(async () => {
      blocker = createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
      busyPort = (blocker.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

    it('a port in use: a clear input error, nothing started', async () => {
      // The baseline runs first, on portBase + 1: make that one busy.
      const err = await runScenarioLive(liveSmoke, { portBase: busyPort - 1, modelDir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LiveRunError);
      expect((err as LiveRunError).kind).toBe('input');
      expect((err as LiveRunError).message).toMatch(new RegExp(`port ${busyPort} on 127.0.0.1 is in use`));
      expect(processesWith(`--port ${busyPort}`)).toEqual([]);
    });

    it('a missing model: a clear input error', async () => {
      const err = await runScenarioLive(liveSmoke, { modelDir: '/nonexistent/model' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LiveRunError);
      expect((err as LiveRunError).kind).toBe('input');
      expect((err as LiveRunError).message).toMatch(/model directory \/nonexistent\/model does not exist/);
    });

    it('a baseline that fails to start: a fault naming mlx_lm.server, no stray process', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'broken-model-'));
      try {
        writeFileSync(join(dir, 'config.json'), '{"model_type": "no-such-architecture"}');
        writeFileSync(join(dir, 'tokenizer.json'), '{}');
        const port = await freePort();
        const err = await runScenarioLive(liveSmoke, { portBase: port, modelDir: dir }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(LiveRunError);
        expect((err as LiveRunError).kind).toBe('fault');
        expect((err as LiveRunError).message).toMatch(/mlx_lm\.server \(pid \d+\) (exited with code \d+|failed)/);
        expect(processesWith(`--port ${port + 1}`)).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });

  it('--repeat through a configured interpreter: both sides twice, alternating, devices and medians recorded', async () => {
    // MLX_SERVING_PYTHON = a wrapper that logs its arguments and execs the venv's python: every python
    // process (mlx_lm.server, the worker node's runtime) must go through it.
    const dir = mkdtempSync(join(tmpdir(), 'live-python-'));
    const calls = join(dir, 'calls.log');
    const wrapper = join(dir, 'python');
    writeFileSync(wrapper, `#!/bin/sh\necho "$* buckets=[$MLX_RUNTIME_CONTEXT_BUCKETS]" >> '${calls}'\nexec '${VENV_PYTHON}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const saved = process.env.MLX_SERVING_PYTHON;
    const savedBuckets = process.env.MLX_RUNTIME_CONTEXT_BUCKETS;
    process.env.MLX_SERVING_PYTHON = wrapper;
    delete process.env.MLX_RUNTIME_CONTEXT_BUCKETS;
    try {
      // The live section's context buckets reach the candidate's runtimes, not mlx_lm.server.
      const def = { ...liveSmoke, live: { model: 'tiny' as const, users: 2, durationMs: 3_000, contextBuckets: [64] } };
      const r = await runScenarioLive(def, { modelDir, repeat: 2, profile: { profile: 'cpu', reason: 'test' } });
      expect(r.live?.repetitions.count).toBe(2);
      expect(r.live?.repetitions.runs.map((x) => x.order)).toEqual(['baseline-first', 'candidate-first']);
      expect(r.live?.devices).toEqual({ baseline: 'Device(cpu, 0)', candidate: 'Device(cpu, 0)' });
      const tok = r.live!.repetitions.spread.candidate.outputTokPerS!;
      expect(r.candidate.outputTokPerS).toBeCloseTo(tok.median, 2);
      expect(r.curves.map((c) => c.name)).toEqual(['output tok/s by repetition', 'ITL p95 by repetition']);
      expect(r.notes.some((n) => n.includes('MLX device: baseline Device(cpu, 0), candidate Device(cpu, 0)'))).toBe(true);
      const lines = readFileSync(calls, 'utf8').split('\n');
      expect(lines.filter((l) => l.includes('mlx_lm.server')).length).toBe(2);
      expect(lines.filter((l) => l.includes('-m mlx_runtime.server')).length).toBe(2);
      expect(lines.filter((l) => l.includes('-m mlx_runtime.server')).every((l) => l.endsWith('buckets=[64]'))).toBe(true);
      expect(lines.filter((l) => l.includes('mlx_lm.server')).every((l) => l.endsWith('buckets=[]'))).toBe(true);
      expect(r.notes).toContain('Candidate runtime: context buckets 64 (the scenario\'s live section).');
    } finally {
      if (saved === undefined) delete process.env.MLX_SERVING_PYTHON;
      else process.env.MLX_SERVING_PYTHON = saved;
      if (savedBuckets !== undefined) process.env.MLX_RUNTIME_CONTEXT_BUCKETS = savedBuckets;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('scales the workload by the live section', () => {
    const w = liveWorkload(liveSmoke);
    expect(w.durationMs).toBe(20_000);
    expect(w.type === 'closed' && w.users).toBe(4);
  });
});
