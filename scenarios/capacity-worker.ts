// A worker thread of the capacity answer's parallel searches (scenarios/capacity-jobs.ts answerJobs).
import { serveJobs } from '../sim/capacity/parallel.js';
import { answerJob } from './capacity-jobs.js';

serveJobs(answerJob);
