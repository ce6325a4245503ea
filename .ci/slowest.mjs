// Prints the slowest test files of the last `npm test` (the end of `npm test` and of .ci/run), from
// reports/out/test-results/: vitest.json (per file: its start to end) and pytest.xml (per file: the
// sum of its test cases' times). Usage: node .ci/slowest.mjs [N=10]
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const dir = 'reports/out/test-results';
const n = Number(process.argv[2] ?? 10);
const files = [];

const vitest = `${dir}/vitest.json`;
if (existsSync(vitest)) {
  const r = JSON.parse(readFileSync(vitest, 'utf8'));
  for (const f of r.testResults ?? []) files.push({ name: relative(process.cwd(), f.name), s: (f.endTime - f.startTime) / 1000, status: f.status });
}
const pytest = `${dir}/pytest.xml`;
if (existsSync(pytest)) {
  const perFile = new Map();
  for (const m of readFileSync(pytest, 'utf8').matchAll(/<testcase\b[^>]*>/g)) {
    const cls = /\bclassname="([^"]*)"/.exec(m[0])?.[1] ?? '?';
    const t = Number(/\btime="([^"]*)"/.exec(m[0])?.[1] ?? 0);
    // classname "tests.test_generate" or "tests.test_generate.TestX": the file is the first two parts
    const file = `python/${cls.split('.').slice(0, 2).join('/')}.py`;
    perFile.set(file, (perFile.get(file) ?? 0) + t);
  }
  for (const [name, s] of perFile) files.push({ name, s, status: 'python' });
}
if (files.length === 0) {
  console.log(`slowest test files: no results under ${dir}`);
} else {
  files.sort((a, b) => b.s - a.s);
  const total = files.reduce((t, f) => t + f.s, 0);
  console.log(`\nslowest test files (of ${files.length}; ${total.toFixed(0)} s summed, files run in parallel):`);
  for (const f of files.slice(0, n)) console.log(`${f.s.toFixed(1).padStart(8)} s  ${f.name}${f.status === 'failed' ? '  (failed)' : ''}`);
}
