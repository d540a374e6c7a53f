// Measures writeLayer against GNU tar piped into gzip, pigz and zstd on the same generated tree.
// Usage: pnpm --filter @kiln/layer-writer bench (KILN_BENCH_SIZE=1GiB for a larger tree,
// KILN_BENCH_DIR to keep the tree somewhere other than the system temp directory).
// Each writeLayer variant runs in its own child process so that its peak RSS is its own.
import { Buffer } from 'node:buffer';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const MiB = 1024 * 1024;

if (process.argv[2] === '--run') {
  await runKiln(process.argv[3], Number(process.argv[4]), process.argv[5], process.argv[6]);
} else {
  await main();
}

async function main() {
  const size = parseSize(process.env.KILN_BENCH_SIZE ?? '256MiB');
  const base = process.env.KILN_BENCH_DIR ?? tmpdir();
  const tree = path.join(base, `kiln-bench-tree-${size}`);
  const out = path.join(base, 'kiln-bench-out');
  await mkdir(out, { recursive: true });
  const files = await ensureTree(tree, size);
  const loadBefore = loadavg()
    .map((load) => load.toFixed(1))
    .join(' ');

  // Warm the page cache so that every variant reads files from memory.
  const tarBytes = Number(
    execFileSync('sh', ['-c', `tar -cf - -C "${tree}" . | wc -c`])
      .toString()
      .trim(),
  );

  const results = [];
  // KILN_BENCH_ONLY=writeLayer (or any part of a pipeline name) runs only the matching pipelines.
  const selected = (name) => name.includes(process.env.KILN_BENCH_ONLY ?? '');
  const shell = (name, command) =>
    selected(name) &&
    results.push({
      name,
      ...timeShell(command.replaceAll('TREE', tree).replaceAll('OUT', out)),
      input: tarBytes,
    });
  const kiln = (name, compression, level) =>
    selected(name) &&
    results.push({
      name,
      ...timeKiln(compression, level, tree, path.join(out, `kiln-${compression}-${level}`)),
    });

  // KILN_BENCH_RUNS=N runs the whole list N times, interleaved, and keeps each pipeline's fastest
  // run, which damps the noise of a shared machine.
  const runs = Number(process.env.KILN_BENCH_RUNS ?? 1);
  for (let run = 0; run < runs; run++) {
    shell('tar | cat', 'tar -cf - -C TREE . | cat > OUT/plain.tar');
    kiln('writeLayer none', 'none', 0);
    kiln('writeLayer gzip -6', 'gzip', 6);
    shell('tar | gzip -6', 'tar -cf - -C TREE . | gzip -6 > OUT/gnu.tar.gz');
    shell('tar | pigz -6 -p 2', 'tar -cf - -C TREE . | pigz -6 -p 2 > OUT/pigz.tar.gz');
    kiln('writeLayer gzip -1', 'gzip', 1);
    shell('tar | gzip -1', 'tar -cf - -C TREE . | gzip -1 > OUT/gnu1.tar.gz');
    shell('tar | pigz -1 -p 2', 'tar -cf - -C TREE . | pigz -1 -p 2 > OUT/pigz1.tar.gz');
    kiln('writeLayer zstd -3', 'zstd', 3);
    shell('tar | zstd -3 -T2', 'tar -cf - -C TREE . | zstd -q -3 -T2 > OUT/zstd.tar.zst');
  }

  const fastest = new Map();
  for (const result of results) {
    const best = fastest.get(result.name);
    if (best === undefined || result.seconds < best.seconds) fastest.set(result.name, result);
  }
  const byName = Object.fromEntries(fastest);
  const mbps = (result) => result.input / MiB / result.seconds;
  const lines = [
    `Tree: ${(size / MiB).toFixed(0)} MiB of file data in ${files} files, tar stream ${(tarBytes / MiB).toFixed(0)} MiB.`,
    `Machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}.`,
    `Runs per pipeline: ${runs} (fastest shown).`,
    `Load average before and after: ${loadBefore} / ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')}.`,
    '',
    '| pipeline | wall s | CPU s | MiB/s of tar | MiB per CPU-s | output MiB | output/tar | peak RSS MiB | vs tar \\| gzip (same level) | vs tar \\| pigz -p 2 (same level) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const ratio = (result, baseline) =>
    baseline === undefined ? '' : `${(mbps(result) / mbps(baseline)).toFixed(2)}x`;
  for (const result of fastest.values()) {
    const level = result.name.includes('-1') ? '1' : '6';
    const compressed = result.name.includes('gzip') || result.name.includes('pigz');
    const cells = [
      result.name.replaceAll('|', '\\|'),
      result.seconds.toFixed(2),
      result.cpuSeconds.toFixed(2),
      mbps(result).toFixed(0),
      (result.input / MiB / result.cpuSeconds).toFixed(0),
      (result.output / MiB).toFixed(1),
      (result.output / result.input).toFixed(3),
      (result.maxRssKiB / 1024).toFixed(0),
      compressed ? ratio(result, byName[`tar | gzip -${level}`]) : '',
      compressed ? ratio(result, byName[`tar | pigz -${level} -p 2`]) : '',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  await rm(out, { recursive: true, force: true });
}

/**
 * Times a shell pipeline with /usr/bin/time: %M is the largest RSS among its processes, and
 * %U and %S add up the CPU time of all of them.
 */
function timeShell(command) {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M %U %S', 'sh', '-c', command], {
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  const [maxRssKiB, user, system] = result.stderr.trim().split('\n').pop().split(' ').map(Number);
  const outputFile = command.split('> ').pop().trim();
  return {
    seconds,
    cpuSeconds: user + system,
    maxRssKiB,
    output: Number(execFileSync('stat', ['-c', '%s', outputFile]).toString()),
  };
}

function timeKiln(compression, level, tree, destination) {
  const self = fileURLToPath(import.meta.url);
  const result = spawnSync(
    process.execPath,
    [self, '--run', compression, String(level), tree, destination],
    { encoding: 'utf8' },
  );
  if (result.status !== 0)
    throw new Error(`writeLayer ${compression} ${level} failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

async function runKiln(compression, level, tree, destination) {
  const { directoryChangeSet, writeLayer } = await import('../dist/index.js');
  const started = process.hrtime.bigint();
  const changeSet = await directoryChangeSet(tree);
  const layer = await writeLayer(
    changeSet,
    destination,
    compression === 'none' ? { compression } : { compression, level },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // cpuUsage covers every thread of the process, libuv's thread pool and its deflate jobs included.
  const cpu = process.cpuUsage();
  process.stdout.write(
    JSON.stringify({
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      input: layer.uncompressedSize,
      output: layer.size,
      maxRssKiB: process.resourceUsage().maxRSS,
    }),
  );
}

/**
 * Generates a tree shaped like a root filesystem: many small text-like files, some medium
 * files and a few large ones, from a pool that mixes text, structured binary and random bytes.
 * The tree is kept between runs; a marker file records that it is complete.
 */
async function ensureTree(tree, size) {
  const marker = path.join(tree, '.complete');
  if (existsSync(marker)) return Number(await readFile(marker, 'utf8'));
  await rm(tree, { recursive: true, force: true });
  const random = xorshift(42);
  const pool = makePool(32 * MiB, random);
  const budgets = [
    { share: 0.15, min: 512, max: 16 * 1024 },
    { share: 0.45, min: 64 * 1024, max: 2 * MiB },
    { share: 0.4, min: 8 * MiB, max: 48 * MiB },
  ];
  let files = 0;
  for (const budget of budgets) {
    let remaining = Math.floor(size * budget.share);
    while (remaining > 0) {
      const fileSize = Math.min(
        remaining,
        budget.min + Math.floor(random() * (budget.max - budget.min)),
      );
      const directory = path.join(
        tree,
        `d${Math.floor(files / 2500)}`,
        `s${Math.floor(files / 50) % 50}`,
      );
      await mkdir(directory, { recursive: true });
      const offset = Math.floor(random() * (pool.length - Math.min(fileSize, pool.length)));
      const content =
        fileSize <= pool.length - offset
          ? pool.subarray(offset, offset + fileSize)
          : repeat(pool, fileSize, offset);
      await writeFile(path.join(directory, `f${files}.dat`), content);
      remaining -= fileSize;
      files++;
    }
  }
  await writeFile(marker, String(files));
  return files;
}

function repeat(pool, size, offset) {
  const buffer = Buffer.allocUnsafe(size);
  for (let written = 0; written < size; ) {
    const start = (offset + written * 7) % pool.length;
    written += pool.copy(buffer, written, start, Math.min(pool.length, start + (size - written)));
  }
  return buffer;
}

/** Builds a pool of mixed text, structured binary and random bytes, like the files of an image. */
function makePool(size, random) {
  const pool = Buffer.allocUnsafe(size);
  const words =
    'the layer digest manifest config kiln registry blob tar gzip index platform arm64 amd64 linux debian busybox error return function const static void int char'.split(
      ' ',
    );
  let offset = 0;
  while (offset < size) {
    const kind = random();
    const length = Math.min(size - offset, 4096 + Math.floor(random() * 60_000));
    if (kind < 0.5) {
      let text = '';
      while (text.length < length)
        text += `${words[Math.floor(random() * words.length)]}${random() < 0.1 ? '\n' : ' '}`;
      pool.write(text.slice(0, length), offset, 'latin1');
    } else if (kind < 0.8) {
      // Table-like binary: 64-byte records, each a copy of the previous one with a few bytes changed.
      for (let index = 0; index < length; index++) {
        const previous = index >= 64 ? pool[offset + index - 64] : Math.floor(random() * 256);
        pool[offset + index] = random() < 0.08 ? Math.floor(random() * 256) : previous;
      }
    } else {
      for (let index = 0; index < length; index++)
        pool[offset + index] = Math.floor(random() * 256);
    }
    offset += length;
  }
  return pool;
}

function xorshift(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

function parseSize(text) {
  const match = /^(\d+(?:\.\d+)?)\s*(KiB|MiB|GiB|K|M|G)?$/i.exec(text.trim());
  if (match === null)
    throw new Error(
      `invalid KILN_BENCH_SIZE ${JSON.stringify(text)}: use a size such as 256MiB or 1GiB`,
    );
  const unit = (match[2] ?? '').toUpperCase().replace('IB', '');
  const multipliers = { '': 1, K: 1024, M: MiB, G: 1024 * MiB };
  const multiplier = multipliers[unit];
  return Math.floor(Number(match[1]) * multiplier);
}
