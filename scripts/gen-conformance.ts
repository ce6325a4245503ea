// Writes the conformance tables between core/scheduling and the python runtime's ports:
// the step planner's (core/scheduling/conformance.ts), the admit group's (admit-group-cases.ts) and the
// context buckets' (context-bucket-cases.ts).
//   npm run gen:conformance
import { writeFileSync } from 'node:fs';
import { conformanceCases } from '../core/scheduling/conformance.js';
import { ADMIT_GROUP_CASES_PATH, admitGroupCases, admitGroupParseCases } from '../core/scheduling/admit-group-cases.js';
import { CONTEXT_BUCKET_CASES_PATH, contextBucketCases } from '../core/scheduling/context-bucket-cases.js';

export const CONFORMANCE_PATH = 'python/tests/data/step_planner_cases.json';

writeFileSync(CONFORMANCE_PATH, `${JSON.stringify({ generatedBy: 'npm run gen:conformance (core/scheduling/conformance.ts)', cases: conformanceCases() }, null, 1)}\n`);
console.log(`wrote ${CONFORMANCE_PATH}`);
writeFileSync(ADMIT_GROUP_CASES_PATH, `${JSON.stringify({ generatedBy: 'npm run gen:conformance (core/scheduling/admit-group-cases.ts)', cases: admitGroupCases(), parse: admitGroupParseCases() })}\n`);
console.log(`wrote ${ADMIT_GROUP_CASES_PATH}`);
writeFileSync(CONTEXT_BUCKET_CASES_PATH, `${JSON.stringify({ generatedBy: 'npm run gen:conformance (core/scheduling/context-bucket-cases.ts)', ...contextBucketCases() })}\n`);
console.log(`wrote ${CONTEXT_BUCKET_CASES_PATH}`);
