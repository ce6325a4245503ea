import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SCENARIOS, findScenario } from './catalog/index.js';
import { defineScenario, ScenarioError, type ScenarioDef } from './define.js';
import { compare } from './gate.js';
import type { ScenarioResult } from '../reports/result.js';
import { runScenarioSim } from './run.js';
import { buildRows } from './targets.js';

const warm = findScenario('warmup-pool')!;

describe('scenario definitions', () => {
  it('every catalogued scenario is valid and uniquely named', () => {
    expect(new Set(SCENARIOS.map((s) => s.name)).size).toBe(SCENARIOS.length);
    for (const s of SCENARIOS) expect(() => defineScenario(s)).not.toThrow();
  });

  it('names the offending field of an invalid definition', () => {
    const bad = (over: Partial<ScenarioDef>) => () => defineScenario({ ...warm, ...over });
    expect(bad({ seed: -1 })).toThrow(/seed must be a non-negative integer/);
    expect(bad({ cluster: { ...warm.cluster, hardware: 'm9-ultra' } })).toThrow(ScenarioError);
    expect(bad({ cluster: { ...warm.cluster, hardware: 'm9-ultra' } })).toThrow(/cluster\.hardware/);
    expect(bad({ candidate: { ...warm.candidate, workers: 0 } })).toThrow(/candidate\.workers must be an integer/);
    expect(bad({ candidate: { ...warm.candidate, gateway: { breaker: { cooldownMs: -5 } } } })).toThrow(/candidate\.gateway.*breaker\.cooldownMs/);
    expect(bad({ workload: { ...warm.workload, durationMs: -1 } as ScenarioDef['workload'] })).toThrow(/workload.*durationMs/);
  });
});

describe('running a scenario in sim', () => {
  it('is byte-identical for one seed and differs for another', async () => {
    const a = JSON.stringify(await runScenarioSim(warm));
    expect(JSON.stringify(await runScenarioSim(warm))).toBe(a);
    expect(JSON.stringify(await runScenarioSim(warm, { seed: 1234 }))).not.toBe(a);
  });

  it('puts baseline, candidate, ratio, target and verdict in each row', async () => {
    const r = await runScenarioSim(warm);
    const row = r.rows.find((x) => x.metric === 'firstRequestTtftMaxMs')!;
    expect(row.baseline).toBeGreaterThan(row.candidate);
    expect(row.ratio).toBeCloseTo(row.candidate / row.baseline!, 3);
    expect(row.target).toBe('≤ 500');
    expect(row.pass).toBe(row.candidate <= 500);
    expect(r.passed).toBe(r.rows.every((x) => x.pass !== false));
  });

  it('says by how much a target is missed', async () => {
    const r = await runScenarioSim(warm);
    const rows = buildRows(r.baseline, r.candidate, [{ metric: 'outputTokPerS', kind: 'ratio-min', value: 5 }]);
    const miss = rows.find((x) => x.target !== null)!;
    expect(miss.pass).toBe(false);
    expect(miss.shortfall).toMatch(/^ratio 1\.000, needs 5\.00 \(−80\.0 %\)$/);
  });
});

describe('the gate', async () => {
  const base = await runScenarioSim(warm);
  const withCandidate = (value: number): ScenarioResult => ({
    ...base,
    rows: buildRows(base.baseline, { ...base.candidate, extra: { ...base.candidate.extra, firstRequestTtftMaxMs: value } }, warm.targets),
  });

  it('passes an unchanged result, fails a target lost since the reference, tolerates known misses that did not worsen', () => {
    expect(compare([base], [base]).every((f) => f.level === 'ok')).toBe(true);
    expect(compare([withCandidate(900)], [base]).some((f) => f.level === 'fail')).toBe(true);
    expect(compare([withCandidate(900)], [withCandidate(900)]).map((f) => f.level)).toEqual(['known']);
    expect(compare([withCandidate(1000)], [withCandidate(900)]).map((f) => f.level)).toEqual(['fail']);
  });
});

describe('npm run scenario (the CLI)', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scenarios/cli.ts', ...args], { encoding: 'utf8' });

  it('lists the scenarios', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'scenarios/cli.ts', '--list'], { encoding: 'utf8' });
    for (const s of SCENARIOS) expect(out).toContain(s.name);
  });

  it('refuses an unknown scenario with the list of available ones and status 2', () => {
    const r = cli('no-such-scenario');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown scenario "no-such-scenario"');
    expect(r.stderr).toContain('phase1-duplicate-heavy');
  });

  it('refuses a bad --live-max-sequences by name with status 2, before starting anything', () => {
    const r = cli('phase3-high-concurrency', '--mode', 'live', '--live-max-sequences', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--live-max-sequences must be an integer in [1, 1024], got 0');
  });

  it('refuses a bad --live-gpus, or a bad MLX_SERVING_LIVE_GPUS in live mode, by name with status 2, before starting anything', () => {
    const r = cli('cluster-scale-out-gpu', '--mode', 'live', '--live-gpus', '17');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--live-gpus must be an integer in [1, 16], got 17');
    const e = spawnSync(process.execPath, ['--import', 'tsx', 'scenarios/cli.ts', 'cluster-scale-out-gpu', '--mode', 'live'], { encoding: 'utf8', env: { ...process.env, MLX_SERVING_LIVE_GPUS: 'two' } });
    expect(e.status).toBe(2);
    expect(e.stderr).toContain('MLX_SERVING_LIVE_GPUS must be an integer in [1, 16], got two');
  });
});
