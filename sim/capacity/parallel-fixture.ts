// A worker module for parallel.test.ts: squares a number after busy-waiting `spinMs`, throws on a negative one.
import { serveJobs } from './parallel.js';

serveJobs(({ n, spinMs }: { n: number; spinMs: number }) => {
  const until = Date.now() + spinMs;
  while (Date.now() < until);
  if (n < 0) throw new Error(`negative job ${n}`);
  return n * n;
});
