// The gateway side's extras in a live run: per-worker shares parsed from a /metrics exposition, their
// formatting and extremes, and the kill of a worker node: a real process tree (a node process and a
// child standing in for its python runtime) SIGKILLed at the planned time, both gone afterwards.
import { describe, expect, it } from 'vitest';
import { METRIC } from '../../live/gateway/metrics-names.js';
import { alivePids, processTree } from '../../live/shared/proc-stats.js';
import { ProcessSet } from '../../live/shared/processes.js';
import { waitFor } from '../../live/shared/poll.js';
import { byWorker, formatShares, scheduleKill, shareExtremes, sharesOf, sharesSince } from './cluster-side.js';

const EXPOSITION = [
  `# HELP ${METRIC.workerDispatches} Requests dispatched.`,
  `# TYPE ${METRIC.workerDispatches} counter`,
  `${METRIC.workerDispatches}{worker="w0"} 30`,
  `${METRIC.workerDispatches}{worker="w1"} 10`,
  `${METRIC.workerTokens}{worker="w1"} 250`,
  `${METRIC.workerTokens}{worker="w0"} 750`,
  `${METRIC.workerTokens}{worker="w10"} 0`,
  `${METRIC.breakerState}{worker="w0"} 0`,
  `${METRIC.workerDispatches}_other{worker="w0"} 99`,
  `${METRIC.retries} 3`,
].join('\n');

describe('per-worker shares', () => {
  it('sums a counter by its worker label, ignoring other metrics', () => {
    expect(byWorker(EXPOSITION, METRIC.workerDispatches)).toEqual({ w0: 30, w1: 10 });
    expect(sharesOf(EXPOSITION)).toEqual({ dispatches: { w0: 30, w1: 10 }, tokens: { w0: 750, w1: 250, w10: 0 }, retries: 3 });
    expect(sharesOf('').retries).toBe(0);
    expect(byWorker('', METRIC.workerTokens)).toEqual({});
  });

  it('subtracts the warm-up\'s counts (a scrape before the load) per worker', () => {
    const after = sharesOf(EXPOSITION);
    const before = { dispatches: { w0: 2, w1: 2 }, tokens: { w0: 8 }, retries: 1 };
    expect(sharesSince(after, before)).toEqual({ dispatches: { w0: 28, w1: 8 }, tokens: { w0: 742, w1: 250, w10: 0 }, retries: 2 });
    expect(sharesSince(after, undefined)).toBe(after);
  });

  it('formats shares in worker order and gives the extremes over the side\'s workers', () => {
    expect(formatShares({ w10: 0, w1: 250, w0: 750 })).toBe('w0 75.0 % (750), w1 25.0 % (250), w10 0.0 % (0)');
    expect(formatShares({})).toBe('none');
    const s = sharesOf(EXPOSITION);
    expect(shareExtremes(s, 2)).toEqual({ tokenShareMax: 0.75, tokenShareMin: 0.25 });
    // A worker that streamed nothing (killed before its first token) is a share of 0.
    expect(shareExtremes(s, 3)).toEqual({ tokenShareMax: 0.75, tokenShareMin: 0 });
    expect(shareExtremes({ dispatches: {}, tokens: {}, retries: 0 }, 4)).toEqual({ tokenShareMax: 0, tokenShareMin: 0 });
  });
});

describe('killing a worker node mid-run', () => {
  it('SIGKILLs the chosen node and its child at the planned time, leaves the other node alone, and says so', async () => {
    const ps = new ProcessSet();
    // A "node" that starts a long-lived child (its "runtime") and prints the child's pid.
    const node = () => ps.start('node', process.execPath, ['-e', "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.error('child', c.pid); setInterval(() => {}, 1000);"]);
    const nodes = [node(), node()];
    try {
      const up = await waitFor(() => nodes.every((n) => processTree(n.pid!).length === 2), 10_000, 50);
      expect(up, 'each node has its child').toBeDefined();
      const trees = nodes.map((n) => processTree(n.pid!));
      const logs: string[] = [];
      const t0 = performance.now();
      const kill = scheduleKill(nodes, { workerIndex: 1, atMs: 300 }, (m) => logs.push(m));
      expect(kill.outcome()).toBeUndefined();
      const exit = await nodes[1]!.exited;
      expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
      expect(exit.signal).toBe('SIGKILL');
      expect(kill.killed.has(nodes[1]!)).toBe(true);
      expect(kill.killed.has(nodes[0]!)).toBe(false);
      const gone = await waitFor(() => alivePids(trees[1]!.map((r) => r.pid)).length === 0, 5_000, 50);
      expect(gone, 'node w1 and its child are gone').toBeDefined();
      expect(alivePids(trees[0]!.map((r) => r.pid))).toHaveLength(2);
      expect(kill.outcome()).toMatch(/^worker node w1 \(pid \d+\) and its 1 child process\(es\) SIGKILLed 0\.\d s into the load \(planned 0\.3 s\)$/);
      expect(logs).toEqual([kill.outcome()]);
    } finally {
      await ps.stopAll();
    }
  });

  it('a cancelled kill does nothing; a node index beyond the side is refused', async () => {
    const ps = new ProcessSet();
    const n = ps.start('node', process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      const kill = scheduleKill([n], { workerIndex: 0, atMs: 100 }, () => undefined);
      kill.cancel();
      await new Promise((r) => setTimeout(r, 300));
      expect(n.exit).toBeUndefined();
      expect(kill.outcome()).toBeUndefined();
      expect(() => scheduleKill([n], { workerIndex: 1, atMs: 100 }, () => undefined)).toThrow('kill: no worker node w1 (1 started)');
    } finally {
      await ps.stopAll();
    }
  });
});
