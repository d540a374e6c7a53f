/* global console, process, URL */
// Measures a snapshot after a one-file change on generated trees, for both snapshotters, against
// `find ROOT -newer MARKER` (one full walk with stat, the baseline a walk cannot beat by much).
// Run with `pnpm --filter @kiln/fs-snapshot bench` after building the package. Each measurement
// runs in its own child process so that its peak RSS is its own.
// Env: KILN_BENCH_SIZES (default 10000,100000,300000), KILN_BENCH_DIR (default the OS temp dir),
// KILN_BENCH_RUNS (changes() calls per measurement, default 5), KILN_BENCH_KINDS (default
// walk,overlay) and KILN_BENCH_DISTS (builds of this package to measure side by side, comma-separated,
// default ../dist). To compare a change with the code before it in one run, copy dist aside first.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const measureScript = fileURLToPath(new URL('./measure-snapshot.mjs', import.meta.url));
const sizes = (process.env.KILN_BENCH_SIZES ?? '10000,100000,300000').split(',').map(Number);
const runs = Number(process.env.KILN_BENCH_RUNS ?? 5);
const kinds = (process.env.KILN_BENCH_KINDS ?? 'walk,overlay').split(',');
const dists = (
  process.env.KILN_BENCH_DISTS ?? fileURLToPath(new URL('../dist', import.meta.url))
).split(',');
const benchDir = mkdtempSync(join(process.env.KILN_BENCH_DIR ?? tmpdir(), 'kiln-snapshot-bench-'));

/** Writes `count` small files, 50 per directory and 20 directories per parent, like a root filesystem. */
function generateTree(root, count) {
  let written = 0;
  for (let top = 0; written < count; top++) {
    for (let middle = 0; middle < 20 && written < count; middle++) {
      const dir = join(root, `usr${top}`, `lib${middle}`);
      mkdirSync(dir, { recursive: true });
      for (let leaf = 0; leaf < 50 && written < count; leaf++, written++) {
        writeFileSync(join(dir, `file${leaf}.so`), 'x'.repeat(64 + (written % 512)));
      }
    }
  }
}

function timeFind(root) {
  const marker = join(benchDir, 'marker');
  writeFileSync(marker, '');
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    execFileSync('find', [root, '-newer', marker], { stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

function measure(kind, root, dist) {
  const result = spawnSync(
    process.execPath,
    [measureScript, kind, root, join(benchDir, 'work'), String(runs), resolve(dist)],
    {
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(`${kind} measurement failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const format = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

console.log(
  `load average before: ${loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')}`,
);
console.log(
  `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${runs} runs per cell, medians, warm page cache`,
);
console.log(
  '| files | snapshotter | init (ms) | changes() after a one-file change (ms) | entries | peak RSS (MiB) | find -newer (ms) | changes() / find |',
);
console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
try {
  for (const size of sizes) {
    const root = join(benchDir, `tree-${size}`);
    generateTree(root, size);
    // Flush the generated files now, so that no measurement pays for writing them back.
    execFileSync('sync');
    const findMs = timeFind(root);
    for (const kind of kinds) {
      for (const dist of dists) {
        const label = dists.length > 1 ? `${kind} (${basename(dist)})` : kind;
        const m = measure(kind, root, dist);
        if (m.unavailable) {
          console.log(`| ${size} | ${label} | unavailable: ${m.unavailable} | | | | | |`);
          continue;
        }
        const ratio = (m.changesMs / findMs).toFixed(2);
        console.log(
          `| ${size} | ${label} | ${format(m.initMs)} | ${format(m.changesMs)} | ${m.entries} | ${(m.maxRssKiB / 1024).toFixed(0)} | ${format(findMs)} | ${ratio} |`,
        );
      }
    }
    rmSync(root, { recursive: true, force: true });
  }
} finally {
  rmSync(benchDir, { recursive: true, force: true });
}
