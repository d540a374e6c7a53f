/* global console, process */
// Benchmark: rebuilds of a multi-stage Dockerfile with Kiln's layer cache and with
// `buildah bud --layers` (vfs storage, chroot isolation) in the same run, on busybox and on the
// Debian bookworm base, against a local docker-registry. Kiln times are the `build()` call in one
// Node process (process start excluded); buildah times are the wall time of each `buildah bud`.
// Cases: no change (local --cache-dir), and one source file changed (registry --cache-repo).
// Settings: KILN_BENCH_RUNS (rebuilds per case, the median is kept, default 5),
// KILN_BENCH_BASES (comma list of busybox,debian; default both).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from '@kiln/engine';
import {
  buildahBuild,
  createBuildahStorage,
  makeTempDir,
  pushBusybox,
  pushDebian,
  removeTempDir,
  startRegistry,
} from '@kiln/testkit';

const runs = Number(process.env.KILN_BENCH_RUNS ?? 5);
const bases = (process.env.KILN_BENCH_BASES ?? 'busybox,debian').split(',');

const dockerfile = (base) => `FROM ${base} AS build
WORKDIR /src
COPY src/ ./
RUN cat *.txt > /src/all.txt && mkdir -p /out && cp /src/all.txt /out/
RUN echo tools > /src/tools.txt

FROM ${base}
WORKDIR /app
COPY --from=build /out/ ./
COPY config.txt ./
RUN ls /app > /app/list.txt
CMD ["cat", "/app/list.txt"]
`;

async function writeContext(dir, base) {
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), dockerfile(base));
  for (let i = 0; i < 20; i += 1) await writeFile(join(dir, 'src', `f${i}.txt`), `file ${i}\n`);
  await writeFile(join(dir, 'config.txt'), 'config\n');
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed(action) {
  const started = process.hrtime.bigint();
  const result = await action();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, result };
}

const registry = await startRegistry();
const tmp = await makeTempDir('kiln-cache-bench-');
const rows = [];
try {
  await pushBusybox(registry);
  if (bases.includes('debian')) await pushDebian(registry);

  for (const baseName of bases) {
    const base = baseName === 'debian' ? 'debian:bookworm' : 'busybox';
    const context = join(tmp, baseName, 'context');
    await writeContext(context, base);
    const kilnOptions = (cache, workDir) => ({
      context,
      noPush: true,
      insecureRegistries: [registry.host],
      registryMap: { 'docker.io': [registry.host] },
      workDir: join(tmp, baseName, workDir),
      cache,
    });
    const localCache = { enabled: true, dir: join(tmp, baseName, 'cache') };
    const repoCache = { enabled: true, repo: `${registry.host}/bench-cache-${baseName}` };

    // No change, local cache directory.
    const kilnCold = await timed(() => build(kilnOptions(localCache, 'work')));
    const kilnWarm = [];
    for (let i = 0; i < runs; i += 1) {
      const run = await timed(() => build(kilnOptions(localCache, 'work')));
      const hits = run.result.cache.steps.filter((s) => s.status === 'hit').length;
      if (hits !== run.result.cache.steps.length) throw new Error(`rebuild ${i} missed a step`);
      kilnWarm.push(run.seconds);
    }

    const storage = await createBuildahStorage(registry.host);
    try {
      const budOptions = {
        contextDir: context,
        tag: `bench/${baseName}:latest`,
        registryHost: registry.host,
        layers: true,
        storage,
      };
      const buildahCold = await timed(() => buildahBuild(budOptions));
      const buildahWarm = [];
      for (let i = 0; i < runs; i += 1)
        buildahWarm.push((await timed(() => buildahBuild(budOptions))).seconds);
      rows.push({
        base: baseName,
        case: 'no change',
        kilnCold: kilnCold.seconds,
        kiln: median(kilnWarm),
        buildahCold: buildahCold.seconds,
        buildah: median(buildahWarm),
      });

      // One source file changed, registry cache repository; each run starts from an empty work dir.
      await build(kilnOptions(repoCache, 'work-repo-0'));
      const kilnChanged = [];
      const buildahChanged = [];
      for (let i = 0; i < runs; i += 1) {
        await writeFile(join(context, 'src', 'f0.txt'), `file 0 version ${i}\n`);
        kilnChanged.push(
          (await timed(() => build(kilnOptions(repoCache, `work-repo-${i + 1}`)))).seconds,
        );
        buildahChanged.push((await timed(() => buildahBuild(budOptions))).seconds);
      }
      rows.push({
        base: baseName,
        case: 'one file changed, registry cache',
        kilnCold: undefined,
        kiln: median(kilnChanged),
        buildahCold: undefined,
        buildah: median(buildahChanged),
      });
    } finally {
      await storage.remove();
    }
  }
} finally {
  await registry.stop();
  await removeTempDir(tmp);
}

const format = (value) => (value === undefined ? '-' : `${value.toFixed(2)} s`);
console.log('| base | case | kiln cold | kiln rebuild | buildah cold | buildah rebuild |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(
    `| ${row.base} | ${row.case} | ${format(row.kilnCold)} | ${format(row.kiln)} | ${format(row.buildahCold)} | ${format(row.buildah)} |`,
  );
}
