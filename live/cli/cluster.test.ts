// `npm run cluster` end to end: a real local cluster (2 worker node processes, each with a python
// runtime of the tiny model, and the gateway), then `npm run cluster -- restart --rolling` from a
// second process while a load runs: every worker process is replaced, no request fails. SIGTERM to
// the cluster takes every process it started down with it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../shared/launch.js';
import { alivePids, processTree } from '../shared/proc-stats.js';
import { ensureTinyModel } from '../worker/test-support.js';
import { startLoad } from './fault-scenarios.js';
import { stage, waitFor } from '../shared/poll.js';

const CLI = join(ROOT_DIR, 'live/cli/cluster.ts');

/** Each stage's deadline: a stuck stage fails the test within it, naming the stage (a pass takes ~25 s in all). */
const STAGE_MS = 40_000;

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('npm run cluster', () => {
  it('starts a cluster, restarts it rolling under load with 0 failed requests, and stops it without leaving a process', async () => {
    await stage('tiny model', STAGE_MS, () => ensureTinyModel());
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--workers', '2', '--model', 'tiny', '--port', '0'], { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await stage('cluster up (gateway + 2 worker nodes with their runtimes)', STAGE_MS, async () => {
        const up = await waitFor(() => /admin key\s+\S+/.test(out) || child.exitCode !== null, STAGE_MS, 100);
        expect(up !== undefined && child.exitCode === null, `cluster not up:\n${out}\n${err}`).toBe(true);
      });
      const base = /gateway\s+(http\S+)\/v1/.exec(out)![1]!;
      const apiKey = /api key\s+(\S+)/.exec(out)![1]!;
      const adminKey = /admin key\s+(\S+)/.exec(out)![1]!;
      const workersBefore = processTree(child.pid!).filter((p) => p.command.includes('live/worker/main.ts')).map((p) => p.pid);
      expect(workersBefore, out + err).toHaveLength(2);

      const load = startLoad({ url: base, apiKey, model: 'tiny', concurrency: 3, streamRatio: 0.5, maxTokens: 12, prompt: 'Hello there, cluster.', clientTimeoutMs: 60_000 });
      // Asynchronously: the load runs in this process's event loop meanwhile.
      const restart = await stage('rolling restart under load', STAGE_MS, () =>
        run(process.execPath, ['--import', 'tsx', CLI, 'restart', '--rolling', '--url', base, '--admin-key', adminKey, '--min-healthy', '1'], STAGE_MS - 2_000));
      const summary = await stage('load stopped', 15_000, () => load.stop());
      expect(restart.status, restart.stdout + restart.stderr + err).toBe(0);
      const status = JSON.parse(restart.stdout) as { state: string; done: { id: string }[] };
      expect(status.state).toBe('done');
      expect(status.done.map((d) => d.id).sort()).toEqual(['w1', 'w2']);
      expect(summary.sent, JSON.stringify(summary)).toBeGreaterThan(5);
      expect(summary.ok, JSON.stringify(summary)).toBe(summary.sent);

      const tree = processTree(child.pid!);
      const workersAfter = tree.filter((p) => p.command.includes('live/worker/main.ts')).map((p) => p.pid);
      expect(workersAfter).toHaveLength(2);
      for (const pid of workersAfter) expect(workersBefore).not.toContain(pid);
      expect(alivePids(workersBefore)).toEqual([]);

      child.kill('SIGTERM');
      expect(await stage('cluster exit after SIGTERM', 20_000, () => exited)).toBe(0);
      const gone = await waitFor(() => alivePids(tree.map((p) => p.pid)).length === 0, 20_000, 100);
      expect(gone, JSON.stringify(tree)).not.toBeUndefined();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 150_000);
});
