import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources through the
// `@kiln/source` export condition, so no build is needed to run them.
const resolve = { conditions: ['@kiln/source', 'import', 'node', 'default'] };

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: ['**/*.e2e.test.ts', '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        resolve,
        test: {
          name: 'e2e',
          include: ['packages/*/src/**/*.e2e.test.ts', 'apps/*/src/**/*.e2e.test.ts', 'examples/**/*.e2e.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
