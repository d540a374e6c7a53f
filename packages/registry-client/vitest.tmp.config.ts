import { defineConfig } from 'vitest/config';
const conditions = ['@kiln/source', 'import', 'node', 'default'];
export default defineConfig({
  root: '/work/main',
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['packages/registry-client/src/**/*.test.ts'],
    testTimeout: 300000,
    hookTimeout: 600000,
    fileParallelism: false,
  },
});
