// A small pool of worker threads for independent, deterministic jobs (the capacity answer's extra
// searches): each job is a plain, structured-clonable value; each worker takes the next job as soon as
// it is free; results come back in the jobs' order whatever order they finish in, so the caller sees
// the same array as `jobs.map(fn)` in-process. The first job that throws rejects the whole run (the
// job's index and the worker's message and stack in the error) and every worker is stopped.
//
// The worker module calls `serveJobs(fn)`. A `.ts` module (run from source: `node --import tsx`,
// vitest) is loaded through ts-worker.mjs, which registers tsx in the thread first; a compiled `.js`
// module (dist/) is started directly.
import { availableParallelism } from 'node:os';
import { parentPort, Worker } from 'node:worker_threads';

/** Threads for the simulator's parallel searches: 1 runs them in-process, one after the other. */
export const SIM_THREADS_ENV = 'MLX_SERVING_SIM_THREADS';

/** One thread per available core, at most one per job; MLX_SERVING_SIM_THREADS=N overrides (N ≥ 1). */
export function simThreads(jobs: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[SIM_THREADS_ENV];
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`${SIM_THREADS_ENV} must be an integer in [1, 1024], got ${JSON.stringify(raw)}`);
    return Math.max(1, Math.min(n, jobs));
  }
  return Math.max(1, Math.min(availableParallelism(), jobs));
}

type Request<J> = { readonly index: number; readonly job: J };
type Reply<R> = { readonly index: number; readonly ok: true; readonly result: R } | { readonly index: number; readonly ok: false; readonly error: string };

/** Runs `jobs` on `threads` workers of `module` (which calls serveJobs); the results in the jobs' order. */
export function runInWorkers<J, R>(module: URL, jobs: readonly J[], threads: number): Promise<R[]> {
  const results = new Array<R>(jobs.length);
  if (jobs.length === 0) return Promise.resolve(results);
  const count = Math.max(1, Math.min(threads, jobs.length));
  const fromSource = module.pathname.endsWith('.ts');
  return new Promise<R[]>((resolve, reject) => {
    const workers: Worker[] = [];
    const retired = new Set<Worker>();
    let next = 0;
    let done = 0;
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      for (const w of workers) retire(w);
      reject(e);
    };
    const retire = (w: Worker) => {
      retired.add(w);
      void w.terminate();
    };
    const feed = (w: Worker) => {
      if (next < jobs.length) {
        const index = next++;
        w.postMessage({ index, job: jobs[index] as J } satisfies Request<J>);
      } else retire(w);
    };
    for (let k = 0; k < count; k++) {
      const w = fromSource
        ? new Worker(new URL('./ts-worker.mjs', import.meta.url), { workerData: { module: module.href } })
        : new Worker(module);
      workers.push(w);
      w.on('message', (m: Reply<R>) => {
        if (failed) return;
        if (!m.ok) return fail(new Error(`parallel job ${m.index} failed in a worker thread: ${m.error}`));
        results[m.index] = m.result;
        if (++done === jobs.length) {
          for (const x of workers) retire(x);
          resolve(results);
        } else feed(w);
      });
      w.on('error', (e) => fail(new Error(`worker thread for ${module.pathname} failed: ${e.stack ?? e.message}`)));
      w.on('exit', (code) => {
        if (!retired.has(w)) fail(new Error(`worker thread for ${module.pathname} exited (code ${code}) with ${jobs.length - done} of ${jobs.length} jobs unanswered`));
      });
      feed(w);
    }
  });
}

/** In a worker module: answers each job the pool sends with `fn(job)`. */
export function serveJobs<J, R>(fn: (job: J) => R): void {
  const port = parentPort;
  if (port === null) throw new Error('serveJobs: not in a worker thread');
  port.on('message', ({ index, job }: Request<J>) => {
    let reply: Reply<R>;
    try {
      reply = { index, ok: true, result: fn(job) };
    } catch (e) {
      reply = { index, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
    port.postMessage(reply);
  });
}
