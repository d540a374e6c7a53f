import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, pushBusybox, removeTempDir, startRegistry } from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildOptions } from '../options.js';
import { cacheBuild, differingFields } from './cache-build.fixture.js';
import type { CacheBuild } from './cache-build.fixture.js';
import type { StepCacheResult } from './layer-cache.js';

let registry: TestRegistry;
let tmp: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry);
  tmp = await makeTempDir('kiln-step-sources-e2e-');
});

afterAll(async () => {
  await registry?.stop();
  if (tmp) await removeTempDir(tmp);
});

type Built = CacheBuild;

function kilnBuild(
  context: string,
  cacheDir: string | undefined,
  extra: Partial<BuildOptions> = {},
): Promise<Built> {
  const cache = cacheDir === undefined ? {} : { enabled: true, dir: cacheDir };
  return cacheBuild({ registry, tmp }, context, cache, extra);
}

async function writeContext(name: string, files: Record<string, string>): Promise<string> {
  const context = path.join(tmp, name);
  await mkdir(context, { recursive: true });
  for (const [file, content] of Object.entries(files))
    await writeFile(path.join(context, file), content);
  return context;
}

function stepOf(built: Built, stage: number, step: number): StepCacheResult | undefined {
  return built.result.cache?.steps.find((s) => s.stage === stage && s.step === step);
}

describe('RUN with a bind mount of a context file', () => {
  const DOCKERFILE = `FROM busybox
WORKDIR /app
RUN --mount=type=bind,source=go.sum,target=go.sum cp go.sum /app/sum-copy.txt
RUN echo after > /app/after.txt
`;
  let cacheDir: string;
  let first: Built;

  beforeAll(async () => {
    cacheDir = path.join(tmp, 'cache-bind');
    const context = await writeContext('bind', {
      Dockerfile: DOCKERFILE,
      'go.sum': 'sum one\n',
      'main.go': 'package main\n',
    });
    first = await kilnBuild(context, cacheDir);
  });

  it('first build looks the RUN up and misses', () => {
    expect(first.statuses).toEqual(['0:1=miss', '0:2=miss', '0:3=miss']);
  });

  it('no-change rebuild hits without running', async () => {
    const context = await writeContext('bind-same', {
      Dockerfile: DOCKERFILE,
      'go.sum': 'sum one\n',
      'main.go': 'package main\n',
    });
    const second = await kilnBuild(context, cacheDir);
    expect(second.statuses).toEqual(['0:1=hit', '0:2=hit', '0:3=hit']);
    expect(second.result.digest).toBe(first.result.digest);
    expect(second.events.filter((event) => event.type === 'step-output')).toHaveLength(0);
  });

  it('unrelated context file change still hits', async () => {
    const context = await writeContext('bind-unrelated', {
      Dockerfile: DOCKERFILE,
      'go.sum': 'sum one\n',
      'main.go': 'package main // edited\n',
    });
    const rebuilt = await kilnBuild(context, cacheDir);
    expect(rebuilt.statuses).toEqual(['0:1=hit', '0:2=hit', '0:3=hit']);
    expect(rebuilt.result.digest).toBe(first.result.digest);
  });

  it('bound file change misses and names the file', async () => {
    const files = { Dockerfile: DOCKERFILE, 'go.sum': 'sum two\n', 'main.go': 'package main\n' };
    const context = await writeContext('bind-changed', files);
    const rebuilt = await kilnBuild(context, cacheDir);
    expect(rebuilt.statuses).toEqual(['0:1=hit', '0:2=miss', '0:3=miss']);
    expect(differingFields(stepOf(rebuilt, 0, 2))).toEqual(['sources.mount:go.sum']);

    // The rebuilt image equals one built without a cache from the same context.
    const uncached = await kilnBuild(context, undefined, {
      workDir: path.join(tmp, 'work-bind-uncached'),
    });
    expect(rebuilt.result.digest).toBe(uncached.result.digest);
  });
  it('writable file bind leaves context file unchanged', async () => {
    const context = await writeContext('bind-rw', {
      Dockerfile: `FROM busybox
RUN --mount=type=bind,source=go.sum,target=/tmp/go.sum,rw echo added >> /tmp/go.sum && cp /tmp/go.sum /seen.txt
`,
      'go.sum': 'sum\n',
    });
    const built = await kilnBuild(context, path.join(tmp, 'cache-rw'));
    expect(built.statuses).toEqual(['0:1=miss']);
    expect(await readFile(path.join(context, 'go.sum'), 'utf8')).toBe('sum\n');
  });
});

describe('RUN with a bind mount of the whole context', () => {
  // BuildKit mounts the context after .dockerignore, so the command reads only what the key lists.
  const files = {
    Dockerfile: `FROM busybox
RUN --mount=type=bind,target=/ctx find /ctx -type f | sort
`,
    '.dockerignore': 'secret.env\nlogs\n!logs/keep.log\n',
    'app.txt': 'app\n',
    'secret.env': 'TOKEN=one\n',
    'logs/debug.log': 'debug\n',
    'logs/keep.log': 'keep\n',
  };

  async function contextWith(name: string, changes: Record<string, string>): Promise<string> {
    const context = await writeContext(name, {});
    await mkdir(path.join(context, 'logs'), { recursive: true });
    for (const [file, content] of Object.entries({ ...files, ...changes }))
      await writeFile(path.join(context, file), content);
    return context;
  }

  function listing(built: Built): string[] {
    return built.events.flatMap((event) =>
      event.type === 'step-output' && event.stream === 'stdout' ? [event.line] : [],
    );
  }

  it('shows only kept files, and an ignored file change still hits', async () => {
    const cacheDir = path.join(tmp, 'cache-whole-context');
    const first = await kilnBuild(await contextWith('whole-context', {}), cacheDir);
    expect(first.statuses).toEqual(['0:1=miss']);
    expect(listing(first)).toEqual([
      '/ctx/.dockerignore',
      '/ctx/Dockerfile',
      '/ctx/app.txt',
      '/ctx/logs/keep.log',
    ]);

    const changed = await contextWith('whole-context-changed', { 'secret.env': 'TOKEN=two\n' });
    const second = await kilnBuild(changed, cacheDir);
    expect(second.statuses).toEqual(['0:1=hit']);
    expect(await readFile(path.join(changed, 'secret.env'), 'utf8')).toBe('TOKEN=two\n');
  });
});

describe('reproducible times after a cached COPY', () => {
  it('gives a later RUN the same mtimes', async () => {
    const context = await writeContext('times', { f: 'x\n' });
    await utimes(path.join(context, 'f'), 1717243200, 1717243200);
    const cacheDir = path.join(tmp, 'cache-times');
    await writeFile(path.join(context, 'Dockerfile'), 'FROM busybox\nCOPY f /f\nRUN true\n');
    await kilnBuild(context, cacheDir);

    await writeFile(
      path.join(context, 'Dockerfile'),
      'FROM busybox\nCOPY f /f\nRUN stat -c %Y /f > /mtime\n',
    );
    const warm = await kilnBuild(context, cacheDir);
    expect(warm.statuses).toEqual(['0:1=hit', '0:2=miss']);
    const cold = await kilnBuild(context, undefined, { workDir: path.join(tmp, 'work-times') });
    expect(warm.result.digest).toBe(cold.result.digest);
  });
});

describe('RUN with a bind mount from an image', () => {
  it('second build hits', async () => {
    const context = await writeContext('bind-image', {
      Dockerfile: `FROM busybox
RUN --mount=type=bind,from=busybox,source=/bin,target=/mnt/bin ls /mnt/bin > /listing.txt
RUN --mount=type=bind,from=busybox,source=/etc/passwd,target=/mnt/passwd cp /mnt/passwd /passwd.txt
`,
    });
    const cacheDir = path.join(tmp, 'cache-image');
    const first = await kilnBuild(context, cacheDir, { workDir: path.join(tmp, 'work-image-1') });
    expect(first.statuses).toEqual(['0:1=miss', '0:2=miss']);
    const second = await kilnBuild(context, cacheDir, { workDir: path.join(tmp, 'work-image-2') });
    expect(second.statuses).toEqual(['0:1=hit', '0:2=hit']);
    expect(second.result.digest).toBe(first.result.digest);
  });
});

describe('COPY --from and RUN bind from a stage', () => {
  const DOCKERFILE = `FROM busybox AS builder
ARG NOISE=1
RUN mkdir -p /src && echo artifact > /src/out.txt && echo "$NOISE" > /src/noise.txt

FROM busybox
COPY --from=builder /src/out.txt /out.txt
RUN --mount=type=bind,from=builder,source=/src,target=/mnt/src cp /mnt/src/out.txt /bound.txt
RUN echo final > /final.txt
`;
  let context: string;
  let cacheDir: string;
  let first: Built;

  beforeAll(async () => {
    cacheDir = path.join(tmp, 'cache-from');
    context = await writeContext('from', { Dockerfile: DOCKERFILE });
    first = await kilnBuild(context, cacheDir);
  });

  it('first build misses every step', () => {
    expect(first.statuses).toEqual(['0:2=miss', '1:1=miss', '1:2=miss', '1:3=miss']);
  });

  it('no-change rebuild hits every step', async () => {
    const second = await kilnBuild(context, cacheDir);
    expect(second.statuses).toEqual(['0:2=hit', '1:1=hit', '1:2=hit', '1:3=hit']);
    expect(second.result.digest).toBe(first.result.digest);
  });

  it('stage change outside the copied file keeps the COPY hit', async () => {
    const rebuilt = await kilnBuild(context, cacheDir, { buildArgs: { NOISE: '2' } });
    expect(rebuilt.statuses).toEqual(['0:2=miss', '1:1=hit', '1:2=miss', '1:3=miss']);
    // The bind mount exposes all of /src, so the changed noise.txt makes its RUN miss.
    expect(differingFields(stepOf(rebuilt, 1, 2))).toEqual(['sources.mount:/mnt/src/noise.txt']);
  });

  it('changed copied file misses and names it', async () => {
    const changed = await writeContext('from-changed', {
      Dockerfile: DOCKERFILE.replace('echo artifact', 'echo artifact-two'),
    });
    const rebuilt = await kilnBuild(changed, cacheDir);
    expect(rebuilt.statuses[1]).toBe('1:1=miss');
    expect(differingFields(stepOf(rebuilt, 1, 1))).toEqual(['sources.src/out.txt']);
  });

  it('reuses source lists of unchanged stages', async () => {
    // Equal diffIDs give the stored lists: a changed list shows that the files were not hashed again.
    const memo = path.join(cacheDir, 'stage-source-keys');
    const files = await readdir(memo);
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files)
      await writeFile(
        path.join(memo, file),
        JSON.stringify([{ path: 'x', digest: `sha256:${'0'.repeat(64)}` }]),
      );
    const rebuilt = await kilnBuild(context, cacheDir);
    expect(rebuilt.statuses).toEqual(['0:2=hit', '1:1=miss', '1:2=miss', '1:3=miss']);

    // A damaged list is ignored, so the files are hashed again and every step hits.
    for (const file of files) await writeFile(path.join(memo, file), 'not json');
    const repaired = await kilnBuild(context, cacheDir);
    expect(repaired.statuses).toEqual(['0:2=hit', '1:1=hit', '1:2=hit', '1:3=hit']);
  });
});
