import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['core/**/*.test.ts', 'sim/**/*.test.ts', 'live/**/*.test.ts', 'scenarios/**/*.test.ts', 'reports/**/*.test.ts'],
    testTimeout: 30_000,
    reporters: ['default'],
  },
});
