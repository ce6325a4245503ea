// Entry of a worker thread whose module is TypeScript (run from source: npm run scenario, vitest):
// registers tsx in this thread, then imports the module named in workerData (sim/capacity/parallel.ts).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
