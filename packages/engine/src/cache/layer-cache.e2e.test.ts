import { readFile, rm, writeFile, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, pushBusybox, removeTempDir, startRegistry } from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDirectoryStore } from '@kiln/cache';
import { warmBaseImages } from './warm.js';
import type { BuildOptions } from '../options.js';
import { cacheBuild } from './cache-build.fixture.js';
import type { CacheBuild } from './cache-build.fixture.js';
import type { LayerCacheOptions } from './layer-cache.js';

let registry: TestRegistry;
let tmp: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry);
  tmp = await makeTempDir('kiln-cache-e2e-');
});

afterAll(async () => {
  await registry?.stop();
  if (tmp) await removeTempDir(tmp);
});

const DOCKERFILE = `FROM busybox AS builder
ARG VERSION=1
ARG UNUSED=x
COPY app.txt /src/app.txt
RUN cat /src/app.txt > /src/out.txt && echo "v$VERSION" >> /src/out.txt
COPY other.txt /src/other.txt
RUN echo built > /src/done.txt

FROM busybox
WORKDIR /app
COPY --from=builder /src/out.txt ./out.txt
RUN echo final > /app/final.txt
`;

async function writeContext(name: string): Promise<string> {
  const context = path.join(tmp, name);
  await mkdir(context, { recursive: true });
  await writeFile(path.join(context, 'Dockerfile'), DOCKERFILE);
  await writeFile(path.join(context, 'app.txt'), 'app one\n');
  await writeFile(path.join(context, 'other.txt'), 'other one\n');
  return context;
}

type Built = CacheBuild;

async function kilnBuild(
  context: string,
  cache: LayerCacheOptions,
  extra: Partial<BuildOptions> = {},
): Promise<Built> {
  return cacheBuild({ registry, tmp }, context, cache, extra);
}

describe('layer cache in a local directory', () => {
  let context: string;
  let cacheDir: string;
  let first: Built;

  beforeAll(async () => {
    context = await writeContext('local');
    cacheDir = path.join(tmp, 'cache-local');
    first = await kilnBuild(context, { enabled: true, dir: cacheDir });
  });

  it('first build misses every step', () => {
    expect(first.statuses.every((status) => status.endsWith('=miss'))).toBe(true);
    expect(first.statuses).toHaveLength(7);
  });

  it('no-change rebuild hits every step with the same digest', async () => {
    const second = await kilnBuild(context, { enabled: true, dir: cacheDir });
    expect(second.statuses.every((status) => status.endsWith('=hit'))).toBe(true);
    expect(second.result.digest).toBe(first.result.digest);
    const runs = second.events.filter((event) => event.type === 'step-output');
    expect(runs).toHaveLength(0);
  });

  it('changed context file rebuilds only its dependent steps', async () => {
    const changed = await writeContext('local-changed');
    await writeFile(path.join(changed, 'other.txt'), 'other two\n');
    const rebuilt = await kilnBuild(changed, { enabled: true, dir: cacheDir });
    expect(rebuilt.statuses).toEqual([
      '0:3=hit',
      '0:4=hit',
      '0:5=miss',
      '0:6=miss',
      '1:1=hit',
      // The final stage copies only out.txt, which other.txt does not change, so it still hits.
      '1:2=hit',
      '1:3=hit',
    ]);
    const copyMiss = rebuilt.result.cache?.steps.find((s) => s.stage === 0 && s.step === 5);
    expect(copyMiss?.explanation?.kind).toBe('nearest');
    const fields =
      copyMiss?.explanation?.kind === 'nearest'
        ? copyMiss.explanation.differences.map((d) => d.field)
        : [];
    expect(fields).toContain('sources.other.txt');
  });

  it('build arg used by a RUN misses there and names the arg', async () => {
    const rebuilt = await kilnBuild(
      context,
      { enabled: true, dir: cacheDir },
      {
        buildArgs: { VERSION: '2' },
      },
    );
    expect(rebuilt.statuses.slice(0, 2)).toEqual(['0:3=hit', '0:4=miss']);
    const runMiss = rebuilt.result.cache?.steps.find((s) => s.stage === 0 && s.step === 4);
    const fields =
      runMiss?.explanation?.kind === 'nearest'
        ? runMiss.explanation.differences.map((d) => d.field)
        : [];
    expect(fields).toContain('args.VERSION');
    // The final stage copies a file that changed, so its COPY --from misses.
    expect(rebuilt.statuses).toContain('1:2=miss');
    // Steps that ran after hits saw the hit layers: the image equals an uncached build's.
    const uncached = await kilnBuild(
      context,
      {},
      {
        buildArgs: { VERSION: '2' },
        workDir: path.join(tmp, 'work-uncached'),
      },
    );
    expect(rebuilt.result.digest).toBe(uncached.result.digest);
  });

  it('build arg no step uses keeps every hit', async () => {
    const rebuilt = await kilnBuild(
      context,
      { enabled: true, dir: cacheDir },
      {
        buildArgs: { UNUSED: 'y', NOT_DECLARED: 'z' },
      },
    );
    // UNUSED is declared, so RUN sees it in its environment and misses; the key must say so.
    const runStep = rebuilt.result.cache?.steps.find((s) => s.stage === 0 && s.step === 4);
    expect(runStep?.status).toBe('miss');
    const undeclared = await kilnBuild(
      context,
      { enabled: true, dir: cacheDir },
      {
        buildArgs: { NOT_DECLARED: 'z' },
      },
    );
    expect(undeclared.statuses.every((status) => status.endsWith('=hit'))).toBe(true);
    expect(undeclared.result.digest).toBe(first.result.digest);
  });

  it('COPY --from a changed file misses', async () => {
    const rebuilt = await kilnBuild(
      context,
      { enabled: true, dir: cacheDir },
      {
        buildArgs: { VERSION: '3' },
      },
    );
    const copyFrom = rebuilt.result.cache?.steps.find((s) => s.stage === 1 && s.step === 2);
    expect(copyFrom?.status).toBe('miss');
    const fields =
      copyFrom?.explanation?.kind === 'nearest'
        ? copyFrom.explanation.differences.map((d) => d.field)
        : [];
    expect(fields).toEqual(['sources.src/out.txt']);
    const workdir = rebuilt.result.cache?.steps.find((s) => s.stage === 1 && s.step === 1);
    expect(workdir?.status).toBe('hit');
  });

  it('one missing entry leaves later steps hitting', async () => {
    const copyKey = first.result.cache?.steps.find((s) => s.stage === 0 && s.step === 3)?.key;
    expect(copyKey).toBeDefined();
    const store = new LocalDirectoryStore(path.join(cacheDir, 'layers'));
    expect(await store.delete(copyKey as string)).toBe(true);

    const rebuilt = await kilnBuild(context, { enabled: true, dir: cacheDir });
    expect(rebuilt.statuses.slice(0, 3)).toEqual(['0:3=miss', '0:4=hit', '0:5=hit']);
    expect(rebuilt.result.digest).toBe(first.result.digest);
  });

  it('entries older than the ttl miss', async () => {
    const rebuilt = await kilnBuild(context, { enabled: true, dir: cacheDir, ttlMs: 1 });
    const steps = rebuilt.result.cache?.steps ?? [];
    expect(steps.map((step) => step.status)).toEqual(steps.map(() => 'miss'));
    expect(steps.filter((step) => step.expired === true)).toHaveLength(steps.length);
  });

  it('corrupt entry is a miss and the build succeeds', async () => {
    const blobs = path.join(cacheDir, 'layers', 'blobs', 'sha256');
    for (const name of await readdir(blobs)) {
      const file = path.join(blobs, name);
      if ((await stat(file)).size > 100) await writeFile(file, 'damaged');
    }
    const rebuilt = await kilnBuild(context, { enabled: true, dir: cacheDir });
    expect(rebuilt.statuses).toContain('0:3=miss');
    expect(rebuilt.result.digest).toBe(first.result.digest);
    const warnings = rebuilt.events.filter(
      (event) => event.type === 'warning' && event.message.includes('damaged'),
    );
    expect(warnings.length).toBeGreaterThan(0);
  });
});

describe('layer cache in a registry repository', () => {
  it('second build from an empty local state hits', async () => {
    const context = await writeContext('registry');
    const cache = { enabled: true, repo: `${registry.host}/kiln-cache` };
    const first = await kilnBuild(context, cache, { workDir: path.join(tmp, 'work-r1') });
    expect(first.statuses.every((status) => status.endsWith('=miss'))).toBe(true);
    expect(first.result.cache?.failedWrites).toEqual([]);

    const second = await kilnBuild(context, cache, { workDir: path.join(tmp, 'work-r2') });
    expect(second.statuses.every((status) => status.endsWith('=hit'))).toBe(true);
    expect(second.result.digest).toBe(first.result.digest);
  });
});

describe('push with a registry cache', () => {
  it('mounts cached layers from the cache repository', async () => {
    const context = await writeContext('registry-push');
    const cache = { enabled: true, repo: `${registry.host}/kiln-cache-push` };
    await kilnBuild(context, cache, { workDir: path.join(tmp, 'work-p1') });

    const logBefore = (await readFile(registry.logPath, 'utf8')).length;
    const pushed = await kilnBuild(context, cache, {
      workDir: path.join(tmp, 'work-p2'),
      noPush: false,
      insecure: true,
      destinations: [`${registry.host}/cached-app:1`],
    });
    const requests = (await readFile(registry.logPath, 'utf8')).slice(logBefore);
    const built = pushed.result.manifest.layers.at(-1)?.digest ?? '';
    const hex = built.slice('sha256:'.length);
    expect(requests).toMatch(
      new RegExp(`cached-app/blobs/uploads/\\?[^ "]*mount=sha256(:|%3A)${hex}`),
    );
    expect(requests).not.toMatch(
      new RegExp(`PUT /v2/cached-app/blobs/uploads/[^ "]*digest=sha256(:|%3A)${hex}`),
    );
  });
});

describe('base-image cache', () => {
  it('second build with the cache dir requests no base blob', async () => {
    const context = await writeContext('base');
    const cacheDir = path.join(tmp, 'cache-base');
    await kilnBuild(context, { dir: cacheDir }, { workDir: path.join(tmp, 'work-b1') });
    const logBefore = (await readFile(registry.logPath, 'utf8')).length;
    await rm(path.join(tmp, 'work-b2'), { recursive: true, force: true });
    await kilnBuild(context, { dir: cacheDir }, { workDir: path.join(tmp, 'work-b2') });
    const requests = (await readFile(registry.logPath, 'utf8')).slice(logBefore);
    expect(requests).not.toMatch(/GET \/v2\/library\/busybox\/blobs\//);
  });

  it('resolves a moved tag on every build', async () => {
    // CI often pushes a base and builds on it minutes later, so a stored tag must not win.
    const cacheDir = path.join(tmp, 'cache-moved');
    const baseRef = `${registry.host}/library/movedbase:latest`;
    const app = path.join(tmp, 'moved-app');
    await mkdir(app, { recursive: true });
    await writeFile(path.join(app, 'Dockerfile'), 'FROM movedbase\n');

    const layersOf = async (version: string): Promise<string[]> => {
      const base = path.join(tmp, `moved-base-${version}`);
      await mkdir(base, { recursive: true });
      await writeFile(path.join(base, 'Dockerfile'), `FROM busybox\nRUN echo ${version} > /v\n`);
      const pushed = await kilnBuild(base, {}, { noPush: false, destinations: [baseRef] });
      const built = await kilnBuild(app, { dir: cacheDir }, { workDir: path.join(tmp, 'work-m') });
      expect(built.result.config.rootfs.diff_ids).toEqual(pushed.result.config.rootfs.diff_ids);
      return built.result.config.rootfs.diff_ids;
    };
    const first = await layersOf('one');
    const second = await layersOf('two');
    expect(second).not.toEqual(first);
  });
});

describe('warmBaseImages', () => {
  it('warm then build requests no base blob', async () => {
    const context = await writeContext('warm');
    const cacheDir = path.join(tmp, 'cache-warm');
    const warmed = await warmBaseImages({
      cacheDir,
      dockerfiles: [path.join(context, 'Dockerfile')],
      registry: { insecure: [registry.host], registryMap: { 'docker.io': [registry.host] } },
    });
    expect(warmed.map((image) => image.reference)).toEqual(['busybox']);
    expect(warmed[0]?.downloaded).toBeGreaterThan(0);

    const logBefore = (await readFile(registry.logPath, 'utf8')).length;
    await kilnBuild(context, { dir: cacheDir }, { workDir: path.join(tmp, 'work-w') });
    const requests = (await readFile(registry.logPath, 'utf8')).slice(logBefore);
    // The tag is resolved again, as kaniko does with a warmed cache, but no blob is fetched.
    expect(requests).not.toMatch(/GET \/v2\/library\/busybox\/blobs\//);
    expect(requests).toMatch(/\/v2\/library\/busybox\/manifests\//);
  });
});
