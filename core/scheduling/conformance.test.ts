import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { conformanceCases } from './conformance.js';
import { ADMIT_GROUP_CASES_PATH, admitGroupCases, admitGroupParseCases } from './admit-group-cases.js';
import { CONTEXT_BUCKET_CASES_PATH, contextBucketCases } from './context-bucket-cases.js';

describe('step planner conformance table', () => {
  it('the committed table (python/tests/data/step_planner_cases.json) is what core generates now: run `npm run gen:conformance` after changing the planner', () => {
    const committed = JSON.parse(readFileSync('python/tests/data/step_planner_cases.json', 'utf8')) as { cases: unknown };
    expect(committed.cases).toEqual(JSON.parse(JSON.stringify(conformanceCases())));
  });

  it('covers idle workers, admissions, over-budget decode batches and the batch cap', () => {
    const plans = conformanceCases().flatMap((c) => c.plans.map((p) => ({ ...p, cfg: c.config })));
    expect(plans.some((p) => p.state.decoding === 0 && p.plan.tokenBudget === p.cfg.maxChunkTokens)).toBe(true);
    expect(plans.some((p) => p.plan.admit > 0)).toBe(true);
    expect(plans.some((p) => p.plan.admit > 0 && p.plan.admit < p.state.waiting.length)).toBe(true);
    expect(plans.some((p) => p.state.decoding > 0 && p.plan.tokenBudget === p.cfg.minChunkTokens)).toBe(true);
    expect(plans.some((p) => p.state.decoding > 0 && p.plan.tokenBudget > p.cfg.minChunkTokens && p.plan.tokenBudget < p.cfg.maxChunkTokens)).toBe(true);
  });
});

describe('admit group conformance table', () => {
  it('the committed table is what core generates now (`npm run gen:conformance`), and it holds holds, groups and idle admissions', () => {
    const committed = JSON.parse(readFileSync(ADMIT_GROUP_CASES_PATH, 'utf8')) as { cases: unknown; parse: unknown };
    const cases = admitGroupCases();
    expect(committed.cases).toEqual(JSON.parse(JSON.stringify(cases)));
    expect(committed.parse).toEqual(JSON.parse(JSON.stringify(admitGroupParseCases())));
    expect(admitGroupParseCases().filter((c) => c.config === null).length).toBeGreaterThan(5);
    expect(cases.some((c) => c.state.waiting > 0 && c.state.freeSlots > 0 && c.admit === 0)).toBe(true);
    expect(cases.some((c) => c.config.minGroup > 1 && c.state.busy > 0 && c.admit > 0)).toBe(true);
    expect(cases.some((c) => c.state.busy === 0 && c.admit > 0)).toBe(true);
  });
});

describe('context bucket conformance table', () => {
  it('the committed table is what core generates now (`npm run gen:conformance`), with valid and refused edges', () => {
    const committed = JSON.parse(readFileSync(CONTEXT_BUCKET_CASES_PATH, 'utf8')) as Record<string, unknown>;
    const cases = contextBucketCases();
    expect({ parse: committed.parse, bucket: committed.bucket }).toEqual(JSON.parse(JSON.stringify(cases)));
    expect(cases.parse.filter((c) => c.edges === null).length).toBeGreaterThan(5);
    expect(cases.parse.filter((c) => c.edges !== null && c.edges.length > 0).length).toBeGreaterThan(3);
  });
});
