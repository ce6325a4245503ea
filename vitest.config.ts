import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['core/**/*.test.ts', 'sim/**/*.test.ts', 'live/**/*.test.ts', 'scenarios/**/*.test.ts', 'reports/**/*.test.ts'],
    testTimeout: 30_000,
    // At least 2 files at once (vitest's default is cores - 1: 1 on this 2-core machine): the live
    // files mostly wait on their processes; the whole run took 274 s instead of ~400 s serially.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // The live tests' prerequisites (venv, tiny model, nats-server), provided or checked once up front.
    globalSetup: ['live/shared/test-prereqs.ts'],
    // One retry: the live tests run real processes (python runtimes, gRPC servers, nats-server) on
    // whatever CPU CI gives them, and a rare scheduling stall can miss a deadline. A test that fails
    // for a real reason fails twice; the pure tests (core/, sim/) are deterministic anyway.
    retry: 1,
    reporters: ['default'],
  },
});
