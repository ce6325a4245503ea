// scenarios/sim-vs-live.ts end to end: the simulator against a committed live run (the seventh GPU
// session's phase 1), and a clear refusal of a bad input.
import { spawnSync } from 'node:child_process';
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

  it('exits 2 on a profile of another model', () => {
    const r = spawnSync(tsx, ['scenarios/sim-vs-live.ts', '--profile', 'no/such/profile.json', `${GPU}/phase1`], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no usable local profile at no/such/profile.json');
  }, 60_000);
});
