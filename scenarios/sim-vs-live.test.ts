// scenarios/sim-vs-live.ts end to end: the simulator against a committed live run (the seventh GPU
// session's phase 1), and a clear refusal of a bad input.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const GPU = 'reports/reference/gpu/session7';

describe('scenarios/sim-vs-live.ts', () => {
  it('compares the simulator with a committed live run, row by row', () => {
    const r = spawnSync(tsx, ['scenarios/sim-vs-live.ts', '--profile', `${GPU}/calibration/local-gpu-1b.json`, `${GPU}/phase1`], {
      encoding: 'utf8', env: { ...process.env, MLX_RUNTIME_CONTEXT_BUCKETS: '1024,4096' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('sim (local profile) vs live — phase1-duplicate-heavy');
    // The live column is the merged run's medians.
    expect(r.stdout).toMatch(/\| candidate \| output tok\/s \| [0-9.]+ \| 1296\.03 \|/);
    expect(r.stdout.match(/^\| (baseline|candidate) \|/gm)).toHaveLength(10);
  }, 60_000);

  it('--baseline-profile simulates the baseline with its own profile and leaves the candidate as it was', () => {
    const profile = `${GPU}/calibration/local-gpu-1b.json`;
    const slower = join(mkdtempSync(join(tmpdir(), 'sim-vs-live-')), 'baseline.json');
    const p = JSON.parse(readFileSync(profile, 'utf8')) as { decodeStepMs: { a: number } };
    writeFileSync(slower, JSON.stringify({ ...p, decodeStepMs: { ...p.decodeStepMs, a: p.decodeStepMs.a * 2 } }));
    const env = { ...process.env, MLX_RUNTIME_CONTEXT_BUCKETS: '1024,4096' };
    const rows = (extra: string[]) => {
      const r = spawnSync(tsx, ['scenarios/sim-vs-live.ts', '--profile', profile, ...extra, `${GPU}/phase1`], { encoding: 'utf8', env });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.split('\n').filter((l) => /^\| (baseline|candidate) \|/.test(l));
    };
    const one = rows([]);
    const two = rows(['--baseline-profile', slower]);
    expect(two.filter((l) => l.startsWith('| candidate'))).toEqual(one.filter((l) => l.startsWith('| candidate')));
    const tok = (ls: string[]) => Number(/\| baseline \| output tok\/s \| ([0-9.]+) \|/.exec(ls.join('\n'))![1]);
    expect(tok(two)).toBeLessThan(tok(one));
  }, 60_000);

  it('exits 2 on a profile of another model', () => {
    const r = spawnSync(tsx, ['scenarios/sim-vs-live.ts', '--profile', 'no/such/profile.json', `${GPU}/phase1`], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no usable local profile at no/such/profile.json');
  }, 60_000);
});
