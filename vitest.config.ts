import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// The fault and soak tests of real clusters (live/cli) measure timing under load (heartbeats, shedding,
// RSS growth): they run last, one file at a time, with nothing else beside them. Everything else runs
// at least 2 files at once (vitest's default is cores - 1: 1 on this 2-core machine; the live files
// mostly wait on their processes).
const FAULTS = 'live/cli/**/*.test.ts';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    // The live tests' prerequisites (venv, tiny model, nats-server), provided or checked once up front.
    globalSetup: ['live/shared/test-prereqs.ts'],
    // One retry: the live tests run real processes (python runtimes, gRPC servers, nats-server) on
    // whatever CPU CI gives them, and a rare scheduling stall can miss a deadline. A test that fails
    // for a real reason fails twice; the pure tests (core/, sim/) are deterministic anyway.
    retry: 1,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['core/**/*.test.ts', 'sim/**/*.test.ts', 'live/**/*.test.ts', 'scenarios/**/*.test.ts', 'reports/**/*.test.ts', 'cli/**/*.test.ts', 'deploy/**/*.test.ts'],
          exclude: [FAULTS, '**/node_modules/**'],
          maxWorkers: Math.max(2, availableParallelism() - 1),
          sequence: { groupOrder: 0 },
        },
      },
      { extends: true, test: { name: 'faults', include: [FAULTS], maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
