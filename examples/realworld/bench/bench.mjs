#!/usr/bin/env node
// Corpus benchmark: cold build and no-change rebuild of each real-world case, kiln with its layer
// cache beside `buildah bud --layers` in the same run, with wall time and peak memory, written to
// examples/realworld/BENCHMARKS.md. Builds run one at a time so that they do not slow each other.
// Usage: node examples/realworld/bench/bench.mjs [CASE...]
// Without names it takes the cases that passed in the last side-by-side run
// (.cache/realworld/results.json). Needs root, buildah, and built packages:
// pnpm turbo run build --filter @kiln/cli... && pnpm --filter @kiln/testkit build
import process from 'node:process';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';

import {
  buildahBudArgs,
  createBuildahStorage,
  makeTempDir,
  pushBusybox,
  pushDebian,
  removeTempDir,
  repoRoot,
  startRegistry,
} from '@kiln/testkit';

import {
  buildahCaseBuild,
  kilnBuild,
  loadCases,
  measure,
  pushedReference,
  realworldDir,
} from '../runner.mjs';

const resultsFile = join(repoRoot(), '.cache', 'realworld', 'results.json');

function selectCases(all) {
  const names = process.argv.slice(2);
  if (names.length > 0) return all.filter((c) => names.includes(c.name));
  if (!existsSync(resultsFile)) {
    throw new Error(
      `${resultsFile} is missing: run the side-by-side suite first or name the cases`,
    );
  }
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  const byName = new Map(all.map((c) => [c.name, c]));
  const passed = new Set(
    results.filter((r) => passedResult(r, byName.get(r.name))).map((r) => r.name),
  );
  return all.filter((c) => passed.has(c.name));
}

/** Returns whether kiln's image passed its check and, where buildah builds the case, matched buildah's. */
function passedResult(r, c) {
  if (r.kiln === undefined || r.kilnCheck?.passed !== true) return false;
  if (c?.buildahUnsupported !== undefined) return true;
  return r.buildahCheck?.passed === true && r.differences?.length === 0;
}

async function benchBuildah(c, registryHost, buildArgs) {
  if (c.buildahUnsupported !== undefined) return undefined;
  const storage = await createBuildahStorage(registryHost);
  try {
    const args = buildahBudArgs({
      contextDir: c.dir,
      tag: `bench/${c.name}:latest`,
      registryHost,
      buildArgs,
      secrets: Object.fromEntries(Object.entries(c.secrets).map(([id, f]) => [id, join(c.dir, f)])),
      layers: true,
    });
    const cold = await measure('buildah', args, storage.env);
    const rebuild = await measure('buildah', args, storage.env);
    return { cold, rebuild };
  } finally {
    await storage.remove();
  }
}

async function benchKiln(c, registryHost) {
  const work = await makeTempDir('bench-kiln');
  try {
    const options = {
      registryHost,
      layoutDir: join(work, 'layout'),
      kilnDir: join(work, 'kiln-dir'),
      cacheDir: join(work, 'cache'),
    };
    const cold = await kilnBuild({ ...c, push: false }, options);
    const rebuild = await kilnBuild({ ...c, push: false }, options);
    return { cold, rebuild };
  } finally {
    await removeTempDir(work);
  }
}

function version(file, args) {
  try {
    return execFileSync(file, args, { encoding: 'utf8' }).trim().split('\n')[0];
  } catch {
    return 'unknown';
  }
}

const fmt = (n) => (n === undefined ? '-' : n.toFixed(1));
const ratio = (a, b) => (a / b).toFixed(2);

const loadAtStart = os.loadavg()[0];
const all = await loadCases();
const cases = selectCases(all);
const registry = await startRegistry();
const rows = [];
try {
  await pushBusybox(registry);
  await pushDebian(registry);
  // Parents of benchmarked children are built once, untimed, so the children can pull them.
  const parents = new Set(cases.filter((c) => c.parent).map((c) => c.parent.case));
  const setupStorage = await createBuildahStorage(registry.host);
  const setupDir = await makeTempDir('bench-setup');
  try {
    for (const parent of all.filter((c) => parents.has(c.name))) {
      await buildahCaseBuild(parent, {
        registryHost: registry.host,
        layoutDir: join(setupDir, `${parent.name}-b`),
        storage: setupStorage,
      });
      await kilnBuild(parent, {
        registryHost: registry.host,
        layoutDir: join(setupDir, `${parent.name}-k`),
        kilnDir: join(setupDir, 'kiln-dir'),
      });
    }
  } finally {
    await setupStorage.remove();
    await removeTempDir(setupDir);
  }

  for (const c of cases) {
    const buildArgs = { ...c.buildArgs };
    if (c.parent)
      buildArgs[c.parent.buildArg] = pushedReference(registry.host, c.parent.case, 'buildah');
    const buildah = await benchBuildah(c, registry.host, buildArgs);
    const kiln = await benchKiln(c, registry.host);
    rows.push({ name: c.name, buildah, kiln });
    process.stdout.write(
      `${c.name}: cold kiln ${fmt(kiln.cold.seconds)} s / buildah ${fmt(buildah?.cold.seconds)} s, ` +
        `rebuild kiln ${fmt(kiln.rebuild.seconds)} s / buildah ${fmt(buildah?.rebuild.seconds)} s\n`,
    );
  }
} finally {
  await registry.stop();
}

const peak = (runs) =>
  runs === undefined ? undefined : Math.max(runs.cold.peakMiB ?? 0, runs.rebuild.peakMiB ?? 0);
const ratioOrDash = (a, b) => (b === undefined ? '-' : ratio(a, b));
const row = (r) =>
  `| ${r.name} | ${fmt(r.kiln.cold.seconds)} | ${fmt(r.buildah?.cold.seconds)} | ` +
  `${ratioOrDash(r.kiln.cold.seconds, r.buildah?.cold.seconds)} | ` +
  `${fmt(r.kiln.rebuild.seconds)} | ${fmt(r.buildah?.rebuild.seconds)} | ` +
  `${ratioOrDash(r.kiln.rebuild.seconds, r.buildah?.rebuild.seconds)} | ` +
  `${fmt(peak(r.kiln))} | ${fmt(peak(r.buildah))} |`;

const lines = [
  '# Real-world corpus benchmark',
  '',
  'Cold build (empty layer cache and storage; base images pulled from a registry on 127.0.0.1) and',
  'no-change rebuild of each case that passed the side-by-side suite, kiln and buildah in the same run.',
  'Ratio is kiln / buildah (below 1 means kiln is faster). Peak memory is the maximum resident set',
  'size of the largest single process of the build as GNU time reports it (%M), over both builds.',
  '',
  `- Command: \`pnpm bench:realworld\` (\`node examples/realworld/bench/bench.mjs\`, ${new Date().toISOString().slice(0, 16)}Z)`,
  `- Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}`,
  `- Versions: Node ${process.version}, ${version('buildah', ['--version'])} (chroot isolation, vfs storage, --layers), kiln at ${version('git', ['-C', realworldDir, 'rev-parse', '--short', 'HEAD'])} (chroot RUN, \`--cache=true --cache-dir\`)`,
  '- kiln writes an OCI layout as its output; buildah commits to its storage (no push or layout export is timed).',
  '- Both rebuilds reuse what the cold build left: kiln its layer cache and base-image cache in --cache-dir, buildah its storage and --layers images.',
  '- Builds run one at a time. Other processes on the machine were not stopped; times from one run each, not averaged.',
  `- Load average (1 minute) at the start and the end of the run: ${loadAtStart.toFixed(1)} and ${os.loadavg()[0].toFixed(1)}.`,
  '- Rows without buildah figures are cases buildah 1.28 cannot build (their case.json says why); the totals leave them out.',
  '',
  '| case | cold kiln s | cold buildah s | cold ratio | rebuild kiln s | rebuild buildah s | rebuild ratio | peak kiln MiB | peak buildah MiB |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(row),
];
const paired = rows.filter((r) => r.buildah !== undefined);
if (paired.length > 0) {
  const sum = (pick) => paired.reduce((total, r) => total + pick(r), 0);
  const coldKiln = sum((r) => r.kiln.cold.seconds);
  const coldBuildah = sum((r) => r.buildah.cold.seconds);
  const rebuildKiln = sum((r) => r.kiln.rebuild.seconds);
  const rebuildBuildah = sum((r) => r.buildah.rebuild.seconds);
  lines.push(
    `| **total** | ${fmt(coldKiln)} | ${fmt(coldBuildah)} | ${ratio(coldKiln, coldBuildah)} | ${fmt(rebuildKiln)} | ${fmt(rebuildBuildah)} | ${ratio(rebuildKiln, rebuildBuildah)} | ${fmt(Math.max(...paired.map((r) => peak(r.kiln))))} | ${fmt(Math.max(...paired.map((r) => peak(r.buildah))))} |`,
  );
}
lines.push('');
await writeFile(join(realworldDir, 'BENCHMARKS.md'), lines.join('\n'));
