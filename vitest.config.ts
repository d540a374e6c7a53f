import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources through the
// `@kiln/source` export condition, so no build is needed to run them.
// Vitest 3 resolves modules for Node tests through Vite's SSR settings, so the condition goes there.
const conditions = ['@kiln/source', 'import', 'node', 'default'];
const resolve = { conditions };
const ssr = { resolve: { conditions, externalConditions: conditions } };

export default defineConfig({
  test: {
    globalSetup: ['./vitest.global-setup.ts'],
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          include: [
            'packages/*/src/**/*.test.ts',
            'apps/*/src/**/*.test.ts',
            'examples/**/*.test.ts',
          ],
          exclude: ['**/*.e2e.test.ts', '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        resolve,
        ssr,
        test: {
          name: 'e2e',
          include: [
            'packages/*/src/**/*.e2e.test.ts',
            'apps/*/src/**/*.e2e.test.ts',
            'examples/**/*.e2e.test.ts',
          ],
          exclude: ['**/node_modules/**', 'examples/realworld/**'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        resolve,
        ssr,
        test: {
          // The side-by-side corpus builds Debian images with apt and buildah: tens of minutes,
          // so it runs alone through `pnpm test:realworld`.
          name: 'realworld',
          include: ['examples/realworld/**/*.e2e.test.ts'],
          testTimeout: 1_800_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
