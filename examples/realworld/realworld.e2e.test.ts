import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  cacheDir,
  createBuildahStorage,
  makeTempDir,
  pushBusybox,
  pushDebian,
  removeTempDir,
  requireTool,
  startRegistry,
} from '@kiln/testkit';
import type { BuildahStorage, TestRegistry } from '@kiln/testkit';

import { kilnCli, loadCases, runCase } from './runner.mjs';

const cases = selectCases(await loadCases(), process.env.REALWORLD_CASES);
const results: Array<Record<string, unknown>> = [];

/** Keeps the cases named in `list` (comma-separated) and the parents they build on. */
function selectCases<T extends { name: string; parent?: { case: string } }>(
  all: T[],
  list: string | undefined,
): T[] {
  if (list === undefined || list.trim() === '') return all;
  const selected = new Set(list.split(',').map((name) => name.trim()));
  for (const c of all) {
    if (selected.has(c.name) && c.parent !== undefined) selected.add(c.parent.case);
  }
  return all.filter((c) => selected.has(c.name));
}

describe('real-world Dockerfiles, kiln beside buildah', () => {
  let registry: TestRegistry;
  let storage: BuildahStorage;
  let workDir: string;

  beforeAll(async () => {
    requireTool('buildah', 'buildah');
    if (!existsSync(kilnCli)) {
      throw new Error(`${kilnCli} is missing: run pnpm turbo run build --filter @kiln/cli...`);
    }
    registry = await startRegistry();
    await pushBusybox(registry);
    await pushDebian(registry);
    storage = await createBuildahStorage(registry.host);
    workDir = await makeTempDir('realworld');
  });

  afterAll(async () => {
    // The summary records times, errors and differences of every case for a reader and the benchmark.
    const summaryDir = join(cacheDir(), '..', 'realworld');
    await mkdir(summaryDir, { recursive: true });
    await writeFile(join(summaryDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    await storage?.remove();
    await registry?.stop();
    if (workDir !== undefined) await removeTempDir(workDir);
  });

  for (const c of cases) {
    // A case that needs an engine feature kiln lacks is expected to fail. Once the feature
    // lands, the test fails as a reminder to remove `kilnGap` from its case.json.
    const test = c.kilnGap === undefined ? it : it.fails;
    test(c.name, { timeout: 1_200_000 }, async () => {
      const result = await runCase(c, {
        registryHost: registry.host,
        workDir,
        storage,
        kilnDir: join(workDir, 'kiln-dir'),
      });
      results.push(result);

      if (c.buildahUnsupported === undefined) {
        expect(result.buildahError, 'buildah build').toBeUndefined();
        expect(result.buildahCheck?.stdout, 'check of the buildah image').toBe(
          c.check.buildahStdout ?? c.check.stdout,
        );
      }
      expect(result.kilnError, 'kiln build').toBeUndefined();
      expect(result.kilnCheck?.stdout, 'check of the kiln image').toBe(c.check.stdout);
      if (c.buildahUnsupported === undefined) {
        expect(result.differences, 'kiln image (A) against buildah image (B)').toEqual([]);
      }
    });
  }
});
