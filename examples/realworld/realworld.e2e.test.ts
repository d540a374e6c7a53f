import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  cacheDir,
  makeTempDir,
  pushBusybox,
  pushDebian,
  removeTempDir,
  requireTool,
  startRegistry,
} from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';

import { kilnCli, loadCases, runCase } from './runner.mjs';
import { scheduleCases } from './schedule.mjs';

const cases = selectCases(await loadCases(), process.env.REALWORLD_CASES);
const concurrency = Number(process.env.REALWORLD_CONCURRENCY ?? '2');
/** The fields of a `runCase` result that this suite reads. */
interface CaseResult {
  name: string;
  kiln?: { seconds: number };
  buildah?: { seconds: number };
  kilnError?: string;
  buildahError?: string;
  kilnCheck?: { stdout: string };
  buildahCheck?: { stdout: string };
  differences?: string[];
  timings?: { total?: number; compare?: number };
  retries?: Array<{ builder: string; failure: string }>;
}

const results: Array<CaseResult | { name: string; error: string }> = [];

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

/** Formats the suite's output line of one case: build times, phases and retries. */
function summaryLine(result: CaseResult): string {
  const seconds = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
  const retries = result.retries?.length
    ? `, retried after a network failure: ${result.retries.map((r) => `${r.builder} (${r.failure})`).join('; ')}`
    : '';
  return (
    `${result.name}: kiln ${seconds(result.kiln?.seconds)} s, buildah ${seconds(result.buildah?.seconds)} s, ` +
    `case ${seconds(result.timings?.total)} s (compare ${seconds(result.timings?.compare)} s)${retries}`
  );
}

describe('real-world Dockerfiles, kiln beside buildah', () => {
  let registry: TestRegistry;
  let workDir: string;
  let outcomes: Map<string, Promise<{ value?: CaseResult; error?: unknown }>>;
  let suiteStarted: bigint;

  beforeAll(async () => {
    requireTool('buildah', 'buildah');
    if (!existsSync(kilnCli)) {
      throw new Error(`${kilnCli} is missing: run pnpm turbo run build --filter @kiln/cli...`);
    }
    suiteStarted = process.hrtime.bigint();
    registry = await startRegistry();
    await pushBusybox(registry);
    await pushDebian(registry);
    workDir = await makeTempDir('realworld');
    // Every case starts here; each test below waits for its own case.
    outcomes = scheduleCases(cases, (c) => runCase(c, { registryHost: registry.host, workDir }), {
      concurrency,
      estimate: (c) => c.estimateSeconds,
    });
  });

  afterAll(async () => {
    // Cases whose test timed out may still run; wait so the registry outlives their pushes.
    if (outcomes !== undefined) await Promise.all(outcomes.values());
    // The summary records times, errors and differences of every case for a reader and the benchmark.
    const summaryDir = join(cacheDir(), '..', 'realworld');
    await mkdir(summaryDir, { recursive: true });
    await writeFile(join(summaryDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    if (suiteStarted !== undefined) {
      const minutes = Number(process.hrtime.bigint() - suiteStarted) / 6e10;
      console.info(
        `real-world corpus: ${results.length} cases, concurrency ${concurrency}, ${minutes.toFixed(1)} min\n` +
          results.map((r) => ('error' in r ? `${r.name}: ${r.error}` : summaryLine(r))).join('\n'),
      );
    }
    await registry?.stop();
    if (workDir !== undefined) await removeTempDir(workDir);
  });

  for (const c of cases) {
    // A case that needs an engine feature kiln lacks is expected to fail. Once the feature
    // lands, the test fails as a reminder to remove `kilnGap` from its case.json.
    const test = c.kilnGap === undefined ? it : it.fails;
    test(c.name, { timeout: 2_700_000 }, async () => {
      const outcome = await outcomes.get(c.name)!;
      if (outcome.error !== undefined) {
        results.push({ name: c.name, error: String(outcome.error) });
        throw outcome.error;
      }
      const result = outcome.value!;
      results.push(result);
      if ((result.retries?.length ?? 0) > 0) console.warn(summaryLine(result));

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
