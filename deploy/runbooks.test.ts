// The runbooks (docs/runbooks/, issue 18) against the code they describe: every JSON snippet of the
// feature-flag runbook is a config the gateway accepts and has the effect its section says, and every
// alert of the Prometheus rules has its section in the alerts runbook, where its annotation points.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveLiveConfig, type LiveGatewayConfig } from '../live/shared/config.js';
import { loadRules, RULES_FILE } from './promql-names.js';

const RUNBOOKS = join(import.meta.dirname, '..', 'docs', 'runbooks');
const read = (f: string) => readFileSync(join(RUNBOOKS, f), 'utf8');

/** [section heading, JSON text] of every ```json block. */
function jsonBlocks(md: string): { section: string; json: string }[] {
  const out: { section: string; json: string }[] = [];
  let section = '';
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('## ')) section = line.slice(3);
    if (line.trim() === '```json') {
      const end = lines.indexOf('```', i + 1);
      out.push({ section, json: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return out;
}

function configOf(json: string): LiveGatewayConfig {
  return resolveLiveConfig({ auth: { apiKeys: ['sk-runbook-0001'] }, ...(JSON.parse(json) as object) });
}

describe('feature-flags runbook', () => {
  const blocks = jsonBlocks(read('feature-flags.md'));

  it('every JSON snippet is a config the gateway accepts', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(20);
    for (const b of blocks) expect(() => configOf(b.json), `${b.section}: ${b.json}`).not.toThrow();
  });

  it('the "off" snippets turn their feature off', () => {
    const off = configOf(blocks.find((b) => b.section.startsWith('Everything off'))?.json ?? '{}').core;
    expect(off.caching.dedupe.enabled).toBe(false);
    expect(off.caching.responseCache.enabled).toBe(false);
    expect(off.caching.coalescing.enabled).toBe(false);
    expect(off.batching.type).toBe('none');
    expect(off.breaker.enabled).toBe(false);
    expect(off.retry.attemptsMax).toBe(1);
    expect(off.rateLimit.enabled).toBe(false);
    expect(off.admission.earlyRefusalFactor).toBe(0);
    expect(off.admission.adaptive.enabled).toBe(false);
    expect(off.scaling.enabled).toBe(false);
    expect(off.fairness.enabled).toBe(false);
    expect(off.canary.models).toEqual({});
    expect(off.catalog).toEqual({});
  });

  it('covers every feature of the brief: dedupe … adaptive limits', () => {
    const sections = new Set(blocks.map((b) => b.section));
    for (const s of ['Dedupe', 'Response cache', 'Coalescing', 'Batching (gateway micro-batching)', 'Circuit breaker', 'Retries', 'Rate limits', 'Early refusal', 'Adaptive limits', 'Scaling signal', 'Fairness between tenants', 'Canary versions', 'Models loaded on demand']) {
      expect(sections, s).toContain(s);
    }
    expect(read('feature-flags.md')).toContain('MLX_RUNTIME_SCHEDULER');
  });
});

describe('alerts runbook', () => {
  it('every alert has a section, and its runbook annotation points at it', () => {
    const md = read('alerts.md');
    const rules = readFileSync(RULES_FILE, 'utf8');
    for (const { name } of loadRules().alerts) {
      expect(md, name).toContain(`\n## ${name}\n`);
      expect(rules, name).toContain(`runbook: docs/runbooks/alerts.md#${name.toLowerCase()}`);
    }
  });
});
