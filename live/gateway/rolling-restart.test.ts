// The live driver of core's RollingRestartPlan, against a fake core and fake links (no processes):
// it executes the plan's actions on the right worker, observes the link for the plan, and keeps the
// admin API's status shape. End to end over real worker processes: live/cli/reliability.test.ts.
import { describe, expect, it } from 'vitest';
import type { GatewayCore, WorkerInfo } from '../../core/index.js';
import { systemClock } from '../shared/clock.js';
import { RollingRestarter, type RestartWorkerHook, type RollingRestartOptions } from './rolling-restart.js';
import type { WorkerLink } from './worker-link.js';

const OPTS: RollingRestartOptions = { minHealthyWorkers: 1, waitHealthyMs: 300, drainTimeoutMs: 5_000, readyTimeoutMs: 5_000 };

interface FakeLink {
  id: string;
  inFlightCount: number;
  connected: boolean;
  drains: boolean[];
  polls: number;
  drain(on: boolean): Promise<{ draining: boolean; inFlight: number }>;
  poll(force: boolean): Promise<void>;
}

function fakeCluster(ids: readonly string[]) {
  const infos = new Map<string, WorkerInfo>(ids.map((id) => [id, { id, models: ['m'], healthy: true, draining: false, breaker: 'closed', inFlight: 0, maxConcurrent: 4, kvUsedFraction: 0 }]));
  const coreDrains: string[] = [];
  const core = {
    workerInfo: () => [...infos.values()],
    drain: (id: string) => {
      coreDrains.push(id);
      infos.set(id, { ...infos.get(id)!, draining: true });
    },
  };
  const links = new Map<string, FakeLink>(ids.map((id) => [id, {
    id, inFlightCount: 0, connected: true, drains: [], polls: 0,
    drain(on) {
      this.drains.push(on);
      return Promise.resolve({ draining: on, inFlight: this.inFlightCount });
    },
    poll() {
      this.polls++;
      return Promise.resolve();
    },
  } satisfies FakeLink]));
  const set = (id: string, over: Partial<WorkerInfo>) => infos.set(id, { ...infos.get(id)!, ...over });
  const restarter = (hook: RestartWorkerHook) =>
    new RollingRestarter({ core: core as unknown as GatewayCore, clock: systemClock, links: links as unknown as ReadonlyMap<string, WorkerLink>, restartWorker: hook });
  return { infos, links, coreDrains, set, restarter };
}

/** A restart that brings the worker back serving, not draining, after `ms`. */
function backAfter(c: ReturnType<typeof fakeCluster>, ms: number, restarted: string[]): RestartWorkerHook {
  return async (id) => {
    restarted.push(id);
    c.set(id, { healthy: false });
    c.links.get(id)!.connected = false;
    await new Promise((r) => setTimeout(r, ms));
    c.links.get(id)!.connected = true;
    c.set(id, { healthy: true, draining: false, inFlight: 0 });
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RollingRestarter (live driver of the core plan)', () => {
  it('restarts every worker in id order, waiting for in-flight requests on the link and in the core; status shape unchanged', async () => {
    const c = fakeCluster(['w3', 'w1', 'w2']);
    const restarted: string[] = [];
    const r = c.restarter(backAfter(c, 20, restarted));
    c.set('w1', { inFlight: 1 });
    c.links.get('w1')!.inFlightCount = 2;
    const done = r.start(OPTS);
    expect(r.busy).toBe(true);
    expect(() => r.start(OPTS)).toThrow(/already running/);
    await sleep(150);
    // w1 is drained (core and worker) but not restarted while requests are in flight
    expect(r.status).toMatchObject({ state: 'running', current: 'w1', done: [] });
    expect(c.coreDrains).toEqual(['w1']);
    expect(c.links.get('w1')!.drains).toEqual([true]);
    expect(restarted).toEqual([]);
    c.set('w1', { inFlight: 0 });
    await sleep(100);
    expect(restarted).toEqual([]); // the link still counts requests on its stream
    c.links.get('w1')!.inFlightCount = 0;
    const s = await done;
    expect(s.state).toBe('done');
    expect(s.error).toBeNull();
    expect(s.current).toBeNull();
    expect(restarted).toEqual(['w1', 'w2', 'w3']);
    expect(c.coreDrains).toEqual(['w1', 'w2', 'w3']);
    for (const id of ['w1', 'w2', 'w3']) expect(c.links.get(id)!.drains, id).toEqual([true]);
    expect(c.links.get('w2')!.polls).toBeGreaterThan(0); // asked for its state while waiting for it to be ready
    expect(s.done.map((d) => d.id)).toEqual(['w1', 'w2', 'w3']);
    for (const d of s.done) {
      expect(Object.keys(d)).toEqual(['id', 'drainMs', 'cutInFlight', 'restartMs', 'readyMs']);
      expect(d.cutInFlight).toBe(0);
      expect(d.restartMs).toBeGreaterThanOrEqual(10);
    }
    expect(s.done[0]!.drainMs).toBeGreaterThanOrEqual(200);
    expect(typeof s.startedAtMs).toBe('number');
    expect(s.finishedAtMs!).toBeGreaterThanOrEqual(s.startedAtMs!);
    expect(r.busy).toBe(false);
  }, 30_000);

  it('the watchdog stops before taking a worker out below minHealthyWorkers (state aborted, "watchdog: …")', async () => {
    const c = fakeCluster(['w1', 'w2']);
    const restarted: string[] = [];
    c.set('w2', { breaker: 'open' });
    const s = await c.restarter(backAfter(c, 1, restarted)).start({ ...OPTS, waitHealthyMs: 50 });
    expect(s.state).toBe('aborted');
    expect(s.error).toBe("watchdog: fewer than 1 other healthy worker(s) for w1's models within 50 ms; stopped before taking w1 out");
    expect(`state: ${s.state} (${s.error})`).toMatch(/^state: aborted \(watchdog/);
    expect(s.done).toEqual([]);
    expect(c.coreDrains).toEqual([]);
    expect(restarted).toEqual([]);
  }, 30_000);

  it('cuts what is still in flight after drainTimeoutMs and counts it', async () => {
    const c = fakeCluster(['w1', 'w2']);
    c.links.get('w1')!.inFlightCount = 3;
    const restarted: string[] = [];
    const hook = backAfter(c, 1, restarted);
    const s = await c.restarter(async (id) => {
      c.links.get(id)!.inFlightCount = 0;
      await hook(id);
    }).start({ ...OPTS, workers: ['w1'], drainTimeoutMs: 60 });
    expect(s.state).toBe('done');
    expect(s.done).toEqual([expect.objectContaining({ id: 'w1', cutInFlight: 3 })]);
    expect(s.done[0]!.drainMs).toBeGreaterThanOrEqual(60);
  }, 30_000);

  it('fails with the hook\'s error when a restart throws, keeping the workers already restarted', async () => {
    const c = fakeCluster(['w1', 'w2', 'w3']);
    const restarted: string[] = [];
    const hook = backAfter(c, 1, restarted);
    const s = await c.restarter(async (id) => {
      if (id === 'w2') throw new Error('could not spawn w2');
      await hook(id);
    }).start(OPTS);
    expect(s).toMatchObject({ state: 'failed', error: 'could not spawn w2', current: null });
    expect(s.done.map((d) => d.id)).toEqual(['w1']);
    expect(restarted).toEqual(['w1']);
  }, 30_000);

  it('fails when the restarted worker is not back within readyTimeoutMs, or its link stays down', async () => {
    const c = fakeCluster(['w1', 'w2']);
    const s = await c.restarter(async (id) => {
      c.set(id, { draining: false }); // serving per the core, but the gateway's link never reconnects
      c.links.get(id)!.connected = false;
    }).start({ ...OPTS, workers: ['w1'], readyTimeoutMs: 80 });
    expect(s).toMatchObject({ state: 'failed', error: 'worker w1 was not healthy and serving 80 ms after its restart', done: [] });
  }, 30_000);

  it('reports an unknown or repeated worker as a failed restart, not an exception', async () => {
    const c = fakeCluster(['w1', 'w2']);
    const restarted: string[] = [];
    const r = c.restarter(backAfter(c, 1, restarted));
    expect(await r.start({ ...OPTS, workers: ['w1', 'nope'] })).toMatchObject({ state: 'failed', error: 'no worker with id "nope"' });
    expect(restarted).toEqual(['w1']);
    expect(r.status.done.map((d) => d.id)).toEqual(['w1']);
    const again = await r.start({ ...OPTS, workers: ['w2', 'w2'] });
    expect(again).toMatchObject({ state: 'failed', done: [] });
    expect(again.error).toMatch(/must not repeat/);
    expect(restarted).toEqual(['w1']);
  }, 30_000);
});
