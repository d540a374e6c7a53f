/* global console, process */
// One measurement for snapshot-bench.mjs: argv = KIND ROOT WORKDIR RUNS DIST; prints one JSON line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [kind, root, workDir, runsText, dist] = process.argv.slice(2);
const distIndex = dist === undefined ? '../dist/index.js' : pathToFileURL(join(dist, 'index.js'));
const { LayeredOverlaySnapshotter, WalkSnapshotter, probeOverlay } = await import(distIndex);
const runs = Number(runsText);

if (kind === 'overlay') {
  const probe = await probeOverlay(workDir);
  if (!probe.available) {
    console.log(JSON.stringify({ unavailable: probe.reason }));
    process.exit(0);
  }
}

const snapshotter =
  kind === 'overlay' ? new LayeredOverlaySnapshotter(root, { workDir }) : new WalkSnapshotter(root);
const elapsedMs = (start) => Number(process.hrtime.bigint() - start) / 1e6;

try {
  let start = process.hrtime.bigint();
  await snapshotter.init();
  const initMs = elapsedMs(start);
  const times = [];
  let entries = 0;
  for (let i = 0; i < runs; i++) {
    // One RUN that changes one file, as `RUN sed -i ... /usr0/lib0/file0.so` would.
    writeFileSync(join(snapshotter.rootfs, 'usr0/lib0/file0.so'), `changed ${i}\n`);
    start = process.hrtime.bigint();
    const changes = await snapshotter.changes();
    times.push(elapsedMs(start));
    entries = changes.entries.length;
  }
  times.sort((a, b) => a - b);
  const changesMs = times[Math.floor(times.length / 2)];
  console.log(
    JSON.stringify({ initMs, changesMs, entries, maxRssKiB: process.resourceUsage().maxRSS }),
  );
} finally {
  await snapshotter.release();
}
