// Prints the `N passed, N failed` line CI ends with, from the machine-readable results that
// `npm test` writes (vitest JSON, pytest JUnit XML) under reports/out/test-results/.
// A failed step that produced no test results (typecheck, lint, a crash) counts as one failure.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = 'reports/out/test-results';
const exitStatus = Number(process.argv[2] ?? 0);
let passed = 0;
let failed = 0;

if (existsSync(dir)) {
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    if (name.endsWith('.json')) {
      const r = JSON.parse(text);
      passed += r.numPassedTests ?? 0;
      // Every failed test, and once each failed file with no failed test of its own: one that
      // failed to load, or whose beforeAll threw (its tests show as skipped).
      for (const f of r.testResults ?? []) {
        const bad = (f.assertionResults ?? []).filter((a) => a.status === 'failed').length;
        failed += bad > 0 ? bad : f.status === 'failed' ? 1 : 0;
      }
    } else if (name.endsWith('.xml')) {
      for (const m of text.matchAll(/<testsuite\b[^>]*>/g)) {
        const attr = (k) => Number((m[0].match(new RegExp(`\\b${k}="(\\d+)"`)) ?? [])[1] ?? 0);
        const bad = attr('failures') + attr('errors');
        passed += attr('tests') - bad - attr('skipped');
        failed += bad;
      }
    }
  }
}
if (exitStatus !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(exitStatus === 0 && failed === 0 ? 0 : 1);
