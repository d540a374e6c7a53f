/* global console, process */
// Benchmark: push and pull an image of random layers with Kiln and with `skopeo copy`, between an
// OCI layout and a local docker-registry, and print wall time, ratio and peak RSS of each.
// Settings: KILN_BENCH_MB (total image size, default 256), KILN_BENCH_LAYERS (default 4),
// KILN_BENCH_RUNS (repetitions, the best time is kept, default 2).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

import {
  makeRandomImage,
  makeTempDir,
  removeTempDir,
  requireTool,
  startRegistry,
} from '@kiln/testkit';

const totalMiB = Number(process.env.KILN_BENCH_MB ?? 256);
const layerCount = Number(process.env.KILN_BENCH_LAYERS ?? 4);
const runs = Number(process.env.KILN_BENCH_RUNS ?? 2);
const benchDir = dirname(fileURLToPath(import.meta.url));

/** Runs a command under GNU time and returns its wall seconds and peak RSS in MiB. */
function measure(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%e %M', command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stderr.trim().split('\n').at(-1) ?? '';
      const [seconds, kib] = last.split(' ').map(Number);
      if (code !== 0 || Number.isNaN(seconds))
        reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr}`));
      else resolve({ seconds, rssMiB: kib / 1024 });
    });
  });
}

async function runOnce(layoutDir, tag) {
  const results = {};
  for (const tool of ['kiln', 'skopeo']) {
    const registry = await startRegistry();
    const reference = `${registry.host}/${tool}/bench:1`;
    const pullDir = await makeTempDir(`bench-pull-${tool}`);
    try {
      const pushed =
        tool === 'kiln'
          ? await measure('node', [
              join(benchDir, 'kiln-op.mjs'),
              'push',
              layoutDir,
              tag,
              reference,
            ])
          : await measure('skopeo', [
              'copy',
              '-q',
              '--preserve-digests',
              '--dest-tls-verify=false',
              `oci:${layoutDir}:${tag}`,
              `docker://${reference}`,
            ]);
      const pulled =
        tool === 'kiln'
          ? await measure('node', [
              join(benchDir, 'kiln-op.mjs'),
              'pull',
              reference,
              join(pullDir, 'oci'),
            ])
          : await measure('skopeo', [
              'copy',
              '-q',
              '--preserve-digests',
              '--src-tls-verify=false',
              `docker://${reference}`,
              `oci:${join(pullDir, 'oci')}:latest`,
            ]);
      results[tool] = { push: pushed, pull: pulled };
    } finally {
      await removeTempDir(pullDir);
      await registry.stop();
    }
  }
  return results;
}

requireTool('skopeo', 'skopeo');
requireTool('/usr/bin/time', 'time');
const layoutDir = await makeTempDir('bench-image');
const layerBytes = Math.floor((totalMiB * 1024 * 1024) / layerCount);
const image = await makeRandomImage(layoutDir, {
  layerSizes: Array.from({ length: layerCount }, () => layerBytes),
});
const best = {};
for (let run = 0; run < runs; run++) {
  const results = await runOnce(layoutDir, image.tag);
  for (const [tool, ops] of Object.entries(results)) {
    for (const [op, value] of Object.entries(ops)) {
      const key = `${tool} ${op}`;
      const previous = best[key];
      best[key] = {
        seconds: Math.min(previous?.seconds ?? Infinity, value.seconds),
        rssMiB: Math.max(previous?.rssMiB ?? 0, value.rssMiB),
      };
    }
  }
}
await removeTempDir(layoutDir);

const mib = (layerBytes * layerCount) / (1024 * 1024);
console.log(
  `image: ${layerCount} random uncompressed layers, ${mib.toFixed(0)} MiB in total; best of ${runs} runs`,
);
console.log(
  '| operation | Kiln s | skopeo s | skopeo time / Kiln time | Kiln MiB/s | Kiln peak RSS MiB | skopeo peak RSS MiB |',
);
console.log('|---|---|---|---|---|---|---|');
for (const op of ['push', 'pull']) {
  const kiln = best[`kiln ${op}`];
  const skopeo = best[`skopeo ${op}`];
  console.log(
    `| ${op} | ${kiln.seconds.toFixed(2)} | ${skopeo.seconds.toFixed(2)} | ${(skopeo.seconds / kiln.seconds).toFixed(2)} | ${(mib / kiln.seconds).toFixed(0)} | ${kiln.rssMiB.toFixed(0)} | ${skopeo.rssMiB.toFixed(0)} |`,
  );
}
