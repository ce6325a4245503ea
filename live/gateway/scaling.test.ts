// The scaling signal through the real gateway (echo workers): GET /admin/scaling and the
// mlx_serving_desired_workers gauge, fed by the core's arrivals and completions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from './metrics-names.js';
import { ADMIN_KEY, chatBody, startHarness, type Harness } from './test-harness.js';

describe('scaling signal (live)', () => {
  let on: Harness;
  let off: Harness;
  beforeAll(async () => {
    [on, off] = await Promise.all([
      startHarness({ workers: [{}, {}], core: { scaling: { enabled: true, windowMs: 10_000, minWorkers: 0 } } }),
      startHarness({ workers: [{}] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([on.close(), off.close()]);
  });

  it('reports desired workers per model with its reason and inputs, and exports the gauge', async () => {
    const idle = await (await on.fetch('/admin/scaling', { key: ADMIN_KEY })).json();
    expect(idle).toMatchObject({ enabled: true, models: [{ model: 'echo', desiredWorkers: 0, currentWorkers: 2, reason: 'idle' }] });
    for (let i = 0; i < 12; i++) {
      const r = await on.fetch('/v1/chat/completions', { json: chatBody(`scale ${i}`, { temperature: 1 }) });
      expect(r.status).toBe(200);
      await r.text();
    }
    const res = await on.fetch('/admin/scaling', { key: ADMIN_KEY });
    expect(res.status).toBe(200);
    const body = await res.json();
    const [m] = body.models;
    expect(m).toMatchObject({ model: 'echo', currentWorkers: 2, reason: 'load', inputs: { workers: 2, queued: 0 } });
    expect(m.inputs.arrivalsPerS).toBeGreaterThan(0);
    expect(m.inputs.serviceMs).toBeGreaterThan(0);
    expect(m.inputs.slotsPerWorker).toBeGreaterThan(0);
    expect(m.slotsNeeded).toBeGreaterThan(0);
    // echo answers in milliseconds: one worker is plenty
    expect(m.desiredWorkers).toBe(1);
    // the scrape evaluates the same stabilised signal
    expect(await on.metric(METRIC.desiredWorkers, { model: 'echo' })).toBe(1);
  });

  it('needs the admin key', async () => {
    expect((await on.fetch('/admin/scaling')).status).toBe(403);
    expect((await on.fetch('/admin/scaling', { key: null })).status).toBe(401);
  });

  it('is off by default: no model, no series', async () => {
    expect(await (await off.fetch('/admin/scaling', { key: ADMIN_KEY })).json()).toEqual({ enabled: false, models: [] });
    const text = await (await off.fetch('/metrics', { key: ADMIN_KEY })).text();
    expect(text).not.toMatch(new RegExp(`^${METRIC.desiredWorkers}\\{`, 'm'));
  });
});
