// Lint rules. The block for core/ is the sans-IO contract (DESIGN.md): core/ never reads the clock,
// never draws its own randomness, never schedules timers and never does I/O. Tests and benches may.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// A file over 400 lines says why at its top: `/* eslint-disable max-lines -- why */`. This rule
// refuses the directive without its reason.
const local = {
  rules: {
    'max-lines-reason': {
      meta: { type: 'problem', schema: [] },
      create(context) {
        return {
          Program() {
            for (const c of context.sourceCode.getAllComments()) {
              if (/eslint-disable\S*\s+max-lines\b/.test(c.value) && !/\s--\s*\S/.test(c.value)) {
                context.report({ loc: c.loc, message: 'Say why this file may be over 400 lines: /* eslint-disable max-lines -- why */' });
              }
            }
          },
        };
      },
    },
  },
};

const impureGlobals = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'queueMicrotask', 'fetch', 'process', 'require'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'reports/out/**', 'python/**', '**/.venv/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // File size (issue 13): one concern per file; over 400 lines only with a reason at the top.
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts', '**/test-support.ts', '**/*.bench.ts', '**/bench/**'],
    plugins: { local },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: { 'max-lines': ['error', { max: 400 }], 'local/max-lines-reason': 'error' },
  },
  {
    // Plain JavaScript (CI scripts, configs) runs on Node.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['core/**/*.ts'],
    ignores: ['core/**/*.test.ts', 'core/**/*.bench.ts', 'core/bench/**'],
    rules: {
      'no-restricted-globals': ['error', ...impureGlobals.map((name) => ({ name, message: 'core/ is sans-IO: pass time and effects in, do not reach for them.' }))],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'core/ receives time as nowMs.' },
        { object: 'performance', property: 'now', message: 'core/ receives time as nowMs.' },
        { object: 'Math', property: 'random', message: 'core/ receives randomness as an injected Rng.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date']", message: 'core/ receives time as nowMs.' },
      ],
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'fs', 'path', 'os', 'net', 'http', 'https', 'child_process', 'crypto', 'worker_threads'], message: 'core/ does no I/O.' },
        { group: ['fastify', 'fastify/*', '@grpc/*', 'nats', 'seedrandom'], message: 'core/ does no I/O and owns no randomness.' },
        { regex: '^(\\.\\./)+(sim|live|scenarios|reports|cli)/', message: 'Layering: core/ imports nothing outside core/ (DESIGN.md).' },
      ] }],
    },
  },
  // Layering (issue 13): core <- sim, live <- scenarios <- reports <- cli. Each layer imports only those
  // below it; cli/ (the `mlx-serving` command, issue 22) dispatches to all of them and nothing imports it.
  {
    files: ['sim/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '^(\\.\\./)+(live|scenarios|reports|cli)/', message: 'Layering: sim/ imports core/ and sim/ only.' },
      ] }],
    },
  },
  {
    // The result model and its renderings: scenarios/ produces results and calls reports/ to write them.
    files: ['reports/**/*.ts'],
    ignores: ['reports/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '^(\\.\\./)+(sim|live|scenarios|cli)/', message: 'Layering: reports/ imports core/ and reports/ only (the result model lives in reports/result.ts).' },
      ] }],
    },
  },
  {
    files: ['live/**/*.ts'],
    // Tests may drive scenarios (arrivals, live runs).
    ignores: ['live/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '^(\\.\\./)+(sim|scenarios|reports|cli)/', message: 'Layering: live/ imports core/ and live/ only (scenarios/live builds its arrivals and maps its summary).' },
      ] }],
    },
  },
  {
    files: ['scenarios/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '^(\\.\\./)+cli/', message: 'Layering: nothing imports cli/ (the mlx-serving command dispatches to the layers).' },
      ] }],
    },
  },
);
