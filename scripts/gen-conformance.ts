// Writes the step planner's conformance table (core/scheduling/conformance.ts) for the Python tests.
//   npm run gen:conformance
import { writeFileSync } from 'node:fs';
import { conformanceCases } from '../core/scheduling/conformance.js';

export const CONFORMANCE_PATH = 'python/tests/data/step_planner_cases.json';

writeFileSync(CONFORMANCE_PATH, `${JSON.stringify({ generatedBy: 'npm run gen:conformance (core/scheduling/conformance.ts)', cases: conformanceCases() }, null, 1)}\n`);
console.log(`wrote ${CONFORMANCE_PATH}`);
