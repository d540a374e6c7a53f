import { execFile } from 'node:child_process';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from './build.js';
import type { BuildEvent } from './events.js';
import type { BuildOptions, BuildResult } from './options.js';

const exec = promisify(execFile);
let dir: string;
let count = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-stages-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a context holding `dockerfile` and a busybox root filesystem under rootfs/. */
async function busyboxContext(dockerfile: string): Promise<string> {
  count += 1;
  const context = path.join(dir, `context-${count}`);
  for (const name of ['bin', 'etc', 'proc', 'dev', 'sys'])
    await mkdir(path.join(context, 'rootfs', name), { recursive: true });
  await mkdir(path.join(context, 'rootfs/tmp'));
  await chmod(path.join(context, 'rootfs/tmp'), 0o1777);
  await copyFile('/bin/busybox', path.join(context, 'rootfs/bin/busybox'));
  for (const applet of ['sh', 'echo', 'cat', 'sleep'])
    await symlink('busybox', path.join(context, 'rootfs/bin', applet));
  await writeFile(path.join(context, 'Dockerfile'), dockerfile);
  return context;
}

async function buildIn(
  context: string,
  options: Partial<BuildOptions> = {},
): Promise<{ result: BuildResult; layout: string }> {
  const layout = `${context}-layout`;
  const result = await build({
    context,
    noPush: true,
    ociLayoutPath: layout,
    reproducible: true,
    workDir: path.join(dir, 'work'),
    ...options,
  });
  return { result, layout };
}

async function layerPaths(layout: string, result: BuildResult, index: number): Promise<string[]> {
  const digest = result.manifest.layers[index]?.digest as string;
  const { stdout } = await exec('tar', [
    '-tzf',
    path.join(layout, 'blobs/sha256', digest.slice(7)),
  ]);
  return stdout.trim().split('\n');
}

/** Mount points under the test directory, which a finished build must have released. */
async function mountsUnderTestDir(): Promise<string[]> {
  const lines = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n');
  return lines.map((line) => line.split(' ')[4] ?? '').filter((p) => p.startsWith(dir));
}

const TWO_BRANCHES = [
  'FROM scratch AS base',
  'COPY rootfs/ /',
  'FROM base AS left',
  'RUN echo left > /left.txt',
  'FROM base AS right',
  'RUN echo right > /right.txt',
  'FROM base AS broken',
  'RUN exit 3',
  'FROM base',
  'COPY --from=left /left.txt /out/',
  'COPY --from=right /right.txt /out/',
  'RUN cat /out/left.txt /out/right.txt > /out/both.txt',
  '',
].join('\n');

describe('build stage graph', () => {
  it('builds only the stages the target needs, side branches together', async () => {
    const context = await busyboxContext(TWO_BRANCHES);
    const events: BuildEvent[] = [];
    const { result, layout } = await buildIn(context, { onEvent: (e) => events.push(e) });
    const started = events.flatMap((e) => (e.type === 'stage-start' ? [e.stage] : []));
    expect([...started].sort()).toEqual([0, 1, 2, 4]);
    expect(events.find((e) => e.type === 'build-start')).toMatchObject({ stages: 4 });
    expect(result.manifest.layers).toHaveLength(4);
    expect(await layerPaths(layout, result, 3)).toEqual(['out/', 'out/both.txt']);
    const digest = result.manifest.layers[3]?.digest.slice(7) as string;
    const { stdout } = await exec('tar', [
      '-xzOf',
      path.join(layout, 'blobs/sha256', digest),
      'out/both.txt',
    ]);
    expect(stdout).toBe('left\nright\n');
    expect(await mountsUnderTestDir()).toEqual([]);
  });

  it('builds every stage with skipUnusedStages: false and stops at a failing one', async () => {
    const context = await busyboxContext(TWO_BRANCHES);
    await expect(buildIn(context, { skipUnusedStages: false })).rejects.toMatchObject({
      code: 'RUN_FAILED',
      exitCode: 3,
    });
    expect(await mountsUnderTestDir()).toEqual([]);
  });

  it('builds the --target stage and what it needs', async () => {
    const context = await busyboxContext(TWO_BRANCHES);
    const events: BuildEvent[] = [];
    const { result, layout } = await buildIn(context, {
      target: 'right',
      onEvent: (e) => events.push(e),
    });
    const started = events.flatMap((e) => (e.type === 'stage-start' ? [e.stage] : []));
    expect(started).toEqual([0, 2]);
    expect(await layerPaths(layout, result, 1)).toEqual(['right.txt']);
  });
});

describe('build snapshots', () => {
  it('keeps sandbox mounts and their contents out of RUN layers', async () => {
    const context = await busyboxContext(
      [
        'FROM scratch',
        'COPY rootfs/ /',
        'RUN echo x > /dev/null-test; echo y > /tmp/kept; cat /etc/hosts > /dev/null',
        '',
      ].join('\n'),
    );
    const events: BuildEvent[] = [];
    const { result, layout } = await buildIn(context, { onEvent: (e) => events.push(e) });
    expect(await layerPaths(layout, result, 1)).toEqual(['tmp/', 'tmp/kept']);
    // As root on ext4 the overlay snapshotter mounts; elsewhere the walk one is used and warned about.
    const fallback = events.some((e) => e.type === 'warning' && e.message.includes('Overlay'));
    expect(fallback).toBe(process.getuid?.() !== 0);
  });

  it('gives the same image with the walk and the overlay snapshotter', async () => {
    const dockerfile = [
      'FROM scratch',
      'COPY rootfs/ /',
      'RUN mkdir -p /a/b && echo x > /a/b/f && ln -s f /a/b/l && echo y > /tmp/t',
      'RUN rm -r /a/b && echo z >> /tmp/t && chmod 700 /tmp',
      '',
    ].join('\n');
    const walk = await buildIn(await busyboxContext(dockerfile), { snapshotter: 'walk' });
    const auto = await buildIn(await busyboxContext(dockerfile), { snapshotter: 'auto' });
    expect(walk.result.manifest.layers).toHaveLength(3);
    expect(auto.result.config.rootfs.diff_ids).toEqual(walk.result.config.rootfs.diff_ids);
  });

  it('releases its mounts when cancelled during a RUN', async () => {
    const context = await busyboxContext('FROM scratch\nCOPY rootfs/ /\nRUN sleep 30\n');
    const controller = new AbortController();
    const running = buildIn(context, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'step-start' && e.step === 2) setTimeout(() => controller.abort(), 300);
      },
    });
    await expect(running).rejects.toMatchObject({ code: 'BUILD_CANCELLED' });
    expect(await mountsUnderTestDir()).toEqual([]);
  });
});

describe('build history', () => {
  it('words file-system steps as BuildKit does', async () => {
    const context = await busyboxContext(
      [
        'FROM scratch',
        'COPY --chmod=0755 rootfs/ /',
        'ARG A=1 B',
        'ENV B=from-env',
        'RUN ["/bin/echo", "exec form"]',
        'RUN echo "$A"',
        'WORKDIR /srv',
        'ONBUILD RUN echo later',
        '',
      ].join('\n'),
    );
    const { result } = await buildIn(context, { buildArgs: { A: 'given' } });
    expect(result.config.history?.map((entry) => entry.created_by)).toEqual([
      'COPY --chmod=0755 rootfs/ / # buildkit',
      'ARG A=given B',
      'ENV B=from-env',
      'RUN |2 A=given B=from-env /bin/echo exec form # buildkit',
      'RUN |2 A=given B=from-env /bin/sh -c echo "$A" # buildkit',
      'WORKDIR /srv',
    ]);
    expect(result.config.config?.OnBuild).toEqual(['RUN echo later']);
  });
});

describe('build media types', () => {
  it("writes Docker's v2 schema 2 media types when asked", async () => {
    const context = await busyboxContext('FROM scratch\nCOPY rootfs/ /\nRUN echo hi > /hi\n');
    const { result, layout } = await buildIn(context, { mediaTypes: 'docker' });
    expect(result.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(result.manifest.config.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    expect(result.manifest.layers.map((layer) => layer.mediaType)).toEqual([
      'application/vnd.docker.image.rootfs.diff.tar.gzip',
      'application/vnd.docker.image.rootfs.diff.tar.gzip',
    ]);
    // skopeo's oci: transport reads only OCI manifests from a layout, so the blob is read directly.
    const blob = await readFile(path.join(layout, 'blobs/sha256', result.digest.slice(7)));
    expect(JSON.parse(blob.toString('utf8'))).toMatchObject({ mediaType: result.mediaType });
    const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ mediaType: string; digest: string }>;
    };
    expect(index.manifests).toContainEqual(
      expect.objectContaining({ mediaType: result.mediaType, digest: result.digest }),
    );
  });
});

describe('build RUN here-document scripts', () => {
  it('runs a #! body as a script file that stays out of the layer', async () => {
    const context = await busyboxContext(
      [
        'FROM scratch',
        'COPY rootfs/ /',
        'RUN <<EOF',
        '#!/bin/busybox sh',
        'echo "ran $0" > /tmp/script.txt',
        'EOF',
        '',
      ].join('\n'),
    );
    const { result, layout } = await buildIn(context);
    expect(await layerPaths(layout, result, 1)).toEqual(['tmp/', 'tmp/script.txt']);
    const digest = result.manifest.layers[1]?.digest.slice(7) as string;
    const { stdout } = await exec('tar', [
      '-xzOf',
      path.join(layout, 'blobs/sha256', digest),
      'tmp/script.txt',
    ]);
    expect(stdout).toBe('ran /dev/pipes/EOF\n');
    expect(result.config.history?.at(-1)?.created_by).toBe(
      'RUN /bin/sh -c /dev/pipes/EOF # buildkit',
    );
  });
});

describe('build RUN cache mounts', () => {
  it('runs commands on a sharing=locked cache one at a time across stages', async () => {
    const step = (name: string): string =>
      `RUN --mount=type=cache,target=/c,sharing=locked echo start-${name} >> /c/log && sleep 0.3 && echo end-${name} >> /c/log && echo ${name} > /${name}`;
    const context = await busyboxContext(
      [
        'FROM scratch AS base',
        'COPY rootfs/ /',
        'FROM base AS a',
        step('a'),
        'FROM base AS b',
        step('b'),
        'FROM base',
        'COPY --from=a /a /a',
        'COPY --from=b /b /b',
        'RUN --mount=type=cache,target=/c cat /c/log > /log',
        '',
      ].join('\n'),
    );
    const { result, layout } = await buildIn(context, {
      workDir: path.join(dir, `work-locked-${count}`),
    });
    const digest = result.manifest.layers.at(-1)?.digest.slice(7) as string;
    const { stdout } = await exec('tar', [
      '-xzOf',
      path.join(layout, 'blobs/sha256', digest),
      'log',
    ]);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect([lines[0]?.slice(6), lines[2]?.slice(6)].sort()).toEqual(['a', 'b']);
    expect(lines[1]).toBe(`end-${lines[0]?.slice(6)}`);
    expect(lines[3]).toBe(`end-${lines[2]?.slice(6)}`);
  });
});

describe('build ARG scoping', () => {
  it('scopes ARGs to their stage and inherits globals only when redeclared', async () => {
    const context = await busyboxContext(
      [
        'ARG BASE=base',
        'ARG GREETING=global',
        'FROM scratch AS base',
        'COPY rootfs/ /',
        'ARG LOCAL=one',
        'RUN echo "[$GREETING][$LOCAL]" > /first',
        'FROM ${BASE}',
        'ARG GREETING',
        'RUN echo "[$GREETING][$LOCAL]" > /second',
        '',
      ].join('\n'),
    );
    const { result, layout } = await buildIn(context, { buildArgs: { LOCAL: 'given' } });
    const read = async (index: number, file: string): Promise<string> => {
      const digest = result.manifest.layers[index]?.digest.slice(7) as string;
      const out = await exec('tar', ['-xzOf', path.join(layout, 'blobs/sha256', digest), file]);
      return out.stdout;
    };
    expect(await read(1, 'first')).toBe('[][given]\n');
    expect(await read(2, 'second')).toBe('[global][]\n');
    expect(result.config.config?.Env?.some((entry) => entry.startsWith('GREETING'))).toBe(false);
  });
});
