import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseImageConfig, parseImageManifest } from '@kiln/oci-spec';
import type { ImageConfig } from '@kiln/oci-spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from './build.js';
import type { BuildEvent } from './events.js';
import type { BuildResult } from './options.js';

const exec = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-build-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let contextCount = 0;

/** Writes a context with the given files (mode 0644 unless given) and returns its directory. */
async function makeContext(
  files: Record<string, string | { content: string; mode: number }>,
): Promise<string> {
  contextCount += 1;
  const context = path.join(dir, `context-${contextCount}`);
  for (const [name, value] of Object.entries(files)) {
    const file = path.join(context, name);
    await mkdir(path.dirname(file), { recursive: true });
    const { content, mode } = typeof value === 'string' ? { content: value, mode: 0o644 } : value;
    await writeFile(file, content);
    await chmod(file, mode);
  }
  return context;
}

async function buildContext(
  context: string,
  options: { buildArgs?: Record<string, string>; events?: BuildEvent[] } = {},
) {
  const layout = path.join(context, '..', `${path.basename(context)}-layout`);
  const result = await build({
    context,
    noPush: true,
    ociLayoutPath: layout,
    reproducible: true,
    workDir: path.join(dir, 'work'),
    buildArgs: options.buildArgs ?? {},
    onEvent: (event) => options.events?.push(event),
  });
  return { result, layout };
}

/** Lists a layer of the layout as `tar -tv` lines: mode, owner, size and path. */
async function layerListing(layout: string, result: BuildResult, index: number): Promise<string[]> {
  const digest = result.manifest.layers[index]?.digest as string;
  const { stdout } = await exec('tar', [
    '--numeric-owner',
    '-tvzf',
    path.join(layout, 'blobs/sha256', digest.slice(7)),
  ]);
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const parts = line.split(/\s+/);
      return `${parts[0]} ${parts[1]} ${parts[2]} ${parts.slice(5).join(' ')}`;
    });
}

describe('build config fields', () => {
  let config: ImageConfig;
  let manifestBytes: Uint8Array;

  beforeAll(async () => {
    const context = await makeContext({
      Dockerfile: [
        'FROM scratch',
        'ARG VERSION=1.0',
        'ENV APP_VERSION=$VERSION PATH=/app/bin',
        'ENV APP_VERSION=${APP_VERSION}-final',
        'LABEL org.example.version=$APP_VERSION team=core',
        'USER 1000:1000',
        'EXPOSE 80 443/udp 8000-8001',
        'VOLUME ["/data"]',
        'STOPSIGNAL SIGTERM',
        'SHELL ["/bin/bash", "-c"]',
        'HEALTHCHECK --interval=5s --retries=3 CMD curl -f http://localhost/',
        'CMD echo hello',
        'ENTRYPOINT ["/app/bin/run"]',
        'MAINTAINER someone@example.com',
      ].join('\n'),
    });
    ({ config, manifestBytes } = (
      await buildContext(context, { buildArgs: { VERSION: '2.0' } })
    ).result);
  });

  it('sets Env in order with expansion', () => {
    expect(config.config?.Env).toEqual(['PATH=/app/bin', 'APP_VERSION=2.0-final']);
  });

  it('sets labels, user, ports and volumes', () => {
    expect(config.config?.Labels).toEqual({ 'org.example.version': '2.0-final', team: 'core' });
    expect(config.config?.User).toBe('1000:1000');
    expect(Object.keys(config.config?.ExposedPorts ?? {})).toEqual([
      '80/tcp',
      '443/udp',
      '8000/tcp',
      '8001/tcp',
    ]);
    expect(config.config?.Volumes).toEqual({ '/data': {} });
    expect(config.config?.StopSignal).toBe('SIGTERM');
  });

  it('uses SHELL for shell-form commands', () => {
    expect(config.config?.Shell).toEqual(['/bin/bash', '-c']);
    expect(config.config?.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'curl -f http://localhost/'],
      Interval: 5_000_000_000,
      Retries: 3,
    });
  });

  it('keeps a CMD set in the same stage as ENTRYPOINT', () => {
    expect(config.config?.Cmd).toEqual(['/bin/bash', '-c', 'echo hello']);
    expect(config.config?.Entrypoint).toEqual(['/app/bin/run']);
  });

  it('produces a config and manifest that oci-spec accepts', () => {
    expect(parseImageConfig(JSON.stringify(config)).config?.User).toBe('1000:1000');
    expect(parseImageManifest(manifestBytes).config.mediaType).toBe(
      'application/vnd.oci.image.config.v1+json',
    );
  });

  it('writes one empty-layer history entry per instruction', () => {
    expect(config.history).toHaveLength(13);
    expect(config.history?.every((entry) => entry.empty_layer === true)).toBe(true);
    // BuildKit's wording: the resolved ARG value and Go's %q / %v formatting of the values.
    expect(config.history?.map((entry) => entry.created_by)).toEqual([
      'ARG VERSION=2.0',
      'ENV APP_VERSION=2.0 PATH=/app/bin',
      'ENV APP_VERSION=2.0-final',
      'LABEL org.example.version=2.0-final team=core',
      'USER 1000:1000',
      'EXPOSE map[443/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}]',
      'VOLUME [/data]',
      'STOPSIGNAL SIGTERM',
      'SHELL [/bin/bash -c]',
      'HEALTHCHECK &{["CMD-SHELL" "curl -f http://localhost/"] "5s" "0s" "0s" "0s" \'\\x03\'}',
      'CMD ["/bin/bash" "-c" "echo hello"]',
      'ENTRYPOINT ["/app/bin/run"]',
      'MAINTAINER someone@example.com',
    ]);
    expect(config.config?.ArgsEscaped).toBe(true);
    expect(config.history?.every((entry) => entry.created === '1970-01-01T00:00:00Z')).toBe(true);
    expect(config.rootfs.diff_ids).toEqual([]);
    expect(config.author).toBe('someone@example.com');
  });
});

describe('build stage inheritance', () => {
  it('resets an inherited CMD on ENTRYPOINT', async () => {
    const context = await makeContext({
      Dockerfile: [
        'FROM scratch AS base',
        'CMD ["serve"]',
        'LABEL tier=base',
        'FROM base AS entry',
        'ENTRYPOINT ["/app"]',
        'FROM base',
        'ENV MODE=keep',
      ].join('\n'),
    });
    const { result } = await buildContext(context);
    expect(result.config.config?.Cmd).toEqual(['serve']);
    expect(result.config.config?.Labels).toEqual({ tier: 'base' });
    expect(result.config.history?.map((h) => h.created_by)).toEqual([
      'CMD ["serve"]',
      'LABEL tier=base',
      'ENV MODE=keep',
    ]);

    const entry = await build({
      context,
      target: 'entry',
      noPush: true,
      reproducible: true,
      workDir: path.join(dir, 'work'),
    });
    expect(entry.config.config?.Entrypoint).toEqual(['/app']);
    expect(entry.config.config?.Cmd).toBeUndefined();
  });
});

describe('build ONBUILD', () => {
  it('runs the base triggers after FROM and drops them', async () => {
    const context = await makeContext({
      Dockerfile: [
        'FROM scratch AS base',
        'ONBUILD COPY app.txt /app/',
        'ONBUILD LABEL from-trigger=yes',
        'CMD ["x"]',
        'FROM base',
        'ENV AFTER=1',
      ].join('\n'),
      'app.txt': 'app',
    });
    const events: BuildEvent[] = [];
    const { result, layout } = await buildContext(context, { events });
    expect(result.config.config?.OnBuild).toBeUndefined();
    expect(result.config.config?.Labels).toEqual({ 'from-trigger': 'yes' });
    expect(await layerListing(layout, result, 0)).toEqual([
      'drwxr-xr-x 0/0 0 app/',
      '-rw-r--r-- 0/0 3 app/app.txt',
    ]);
    const steps = events.flatMap((event) =>
      event.type === 'step-start' && event.stage === 1 ? [event.instruction] : [],
    );
    expect(steps).toEqual([
      'ONBUILD COPY app.txt /app/',
      'ONBUILD LABEL from-trigger=yes',
      'ENV AFTER=1',
    ]);
  });
});

describe('build COPY', () => {
  it('applies destination rules, modes and ownership', async () => {
    const context = await makeContext({
      Dockerfile: [
        'FROM scratch',
        'COPY a.txt /srv/',
        'COPY a.txt /srv/renamed.txt',
        'COPY site /opt/site',
        'COPY --chown=1000:2000 --chmod=0600 *.sh /scripts/',
      ].join('\n'),
      'a.txt': 'a',
      'site/index.html': 'index',
      'site/css/main.css': 'css',
      'one.sh': { content: 'one', mode: 0o755 },
      'two.sh': { content: 'two', mode: 0o755 },
    });
    const { result, layout } = await buildContext(context);
    expect(result.manifest.layers).toHaveLength(4);
    expect(await layerListing(layout, result, 0)).toEqual([
      'drwxr-xr-x 0/0 0 srv/',
      '-rw-r--r-- 0/0 1 srv/a.txt',
    ]);
    expect(await layerListing(layout, result, 1)).toEqual([
      'drwxr-xr-x 0/0 0 srv/',
      '-rw-r--r-- 0/0 1 srv/renamed.txt',
    ]);
    expect(await layerListing(layout, result, 2)).toEqual([
      'drwxr-xr-x 0/0 0 opt/',
      'drwxr-xr-x 0/0 0 opt/site/',
      'drwxr-xr-x 0/0 0 opt/site/css/',
      '-rw-r--r-- 0/0 3 opt/site/css/main.css',
      '-rw-r--r-- 0/0 5 opt/site/index.html',
    ]);
    expect(await layerListing(layout, result, 3)).toEqual([
      'drwxr-xr-x 1000/2000 0 scripts/',
      '-rw------- 1000/2000 3 scripts/one.sh',
      '-rw------- 1000/2000 3 scripts/two.sh',
    ]);
    expect(result.config.rootfs.diff_ids).toHaveLength(4);
  });

  it('leaves --chmod off a created destination directory', async () => {
    // BuildKit creates it with fsutil's MkdirAll(0755) before copying into it (see copy-docker-rules.test.ts).
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY --chown=65534:65534 --chmod=750 sub/ /dest/owned/\n',
      'sub/deep.txt': 'deep',
    });
    const { result, layout } = await buildContext(context);
    expect(await layerListing(layout, result, 0)).toEqual([
      'drwxr-xr-x 65534/65534 0 dest/',
      'drwxr-xr-x 65534/65534 0 dest/owned/',
      '-rwxr-x--- 65534/65534 4 dest/owned/deep.txt',
    ]);
  });

  it('keeps stage owners and existing directories', async () => {
    const context = await makeContext({
      Dockerfile: [
        'FROM scratch AS source',
        'COPY --chown=100:200 a.txt /file',
        'COPY --chown=101:201 tree /dir',
        'FROM scratch',
        'COPY --chown=500:600 empty /existing',
        'COPY --from=source /file /copied/file',
        'COPY --from=source /dir /newdir',
        'COPY --from=source /dir/. /existing',
      ].join('\n'),
      'a.txt': 'a',
      'tree/sub/nested': 'n',
      'empty/.keep': '',
    });
    const { result, layout } = await buildContext(context);
    expect(await layerListing(layout, result, 1)).toEqual([
      'drwxr-xr-x 0/0 0 copied/',
      '-rw-r--r-- 100/200 1 copied/file',
    ]);
    expect(await layerListing(layout, result, 2)).toEqual([
      'drwxr-xr-x 0/0 0 newdir/',
      'drwxr-xr-x 101/201 0 newdir/sub/',
      '-rw-r--r-- 101/201 1 newdir/sub/nested',
    ]);
    expect(await layerListing(layout, result, 3)).toEqual([
      'drwxr-xr-x 500/600 0 existing/',
      'drwxr-xr-x 101/201 0 existing/sub/',
      '-rw-r--r-- 101/201 1 existing/sub/nested',
    ]);
  });

  it('leaves out what .dockerignore excludes', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY . /app/\n',
      '.dockerignore': 'secrets\n*.log\n!keep.log\nDockerfile\n',
      'main.txt': 'main',
      'debug.log': 'debug',
      'keep.log': 'keep',
      'secrets/key': 'key',
    });
    const { result, layout } = await buildContext(context);
    expect(await layerListing(layout, result, 0)).toEqual([
      'drwxr-xr-x 0/0 0 app/',
      '-rw-r--r-- 0/0 35 app/.dockerignore',
      '-rw-r--r-- 0/0 4 app/keep.log',
      '-rw-r--r-- 0/0 4 app/main.txt',
    ]);
  });

  it('names .dockerignore when it hides a source', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY debug.log /\n',
      '.dockerignore': '*.log\n',
      'debug.log': 'x',
    });
    await expect(buildContext(context)).rejects.toMatchObject({
      code: 'CONTEXT_FILE_NOT_FOUND',
      hint: expect.stringContaining('line 1 of .dockerignore ("*.log")'),
    });
  });

  it('unpacks local archives with ADD', async () => {
    const context = await makeContext({
      Dockerfile:
        'FROM scratch\nADD app.tar.gz /opt/app\nADD --chown=7:8 app.tar.gz /chowned/\nADD notes.txt /notes.txt\n',
      'notes.txt': 'plain',
    });
    const tree = path.join(dir, `archive-tree-${contextCount}`);
    await mkdir(path.join(tree, 'bin'), { recursive: true });
    await writeFile(path.join(tree, 'bin/run'), 'run');
    await chmod(path.join(tree, 'bin/run'), 0o755);
    await exec('chown', ['-R', '123:456', tree]);
    await exec('tar', ['-czf', path.join(context, 'app.tar.gz'), '-C', tree, 'bin']);

    const { result, layout } = await buildContext(context);
    expect(await layerListing(layout, result, 0)).toEqual([
      'drwxr-xr-x 0/0 0 opt/',
      'drwxr-xr-x 0/0 0 opt/app/',
      'drwxr-xr-x 123/456 0 opt/app/bin/',
      '-rwxr-xr-x 123/456 3 opt/app/bin/run',
    ]);
    expect(await layerListing(layout, result, 1)).toEqual([
      'drwxr-xr-x 7/8 0 chowned/',
      'drwxr-xr-x 7/8 0 chowned/bin/',
      '-rwxr-xr-x 7/8 3 chowned/bin/run',
    ]);
    expect(await layerListing(layout, result, 2)).toEqual(['-rw-r--r-- 0/0 5 notes.txt']);
  });

  it('writes zstd layers when asked', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY a.txt /a.txt\n',
      'a.txt': 'zstd',
    });
    const layout = path.join(dir, 'zstd-layout');
    const result = await build({
      context,
      noPush: true,
      ociLayoutPath: layout,
      workDir: path.join(dir, 'work'),
      compression: 'zstd',
      compressionLevel: 19,
    });
    const layer = result.manifest.layers[0];
    expect(layer?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    const { stdout } = await exec('sh', [
      '-c',
      'zstd -dc "$1" | tar -tvf - --numeric-owner',
      'sh',
      path.join(layout, 'blobs/sha256', (layer?.digest as string).slice(7)),
    ]);
    expect(stdout).toContain('a.txt');
  });

  it('never follows a symlink out of the context', async () => {
    const context = await makeContext({ Dockerfile: 'FROM scratch\nCOPY escape/hostname /x\n' });
    await symlink('/etc', path.join(context, 'escape'));
    await expect(buildContext(context)).rejects.toThrow(
      /escape\/hostname not found in the build context/,
    );
  });

  it('rejects several sources without a directory destination', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY a b /dest\n',
      a: 'a',
      b: 'b',
    });
    await expect(buildContext(context)).rejects.toThrow(/more than one source/);
  });

  it('copies from an earlier stage', async () => {
    const context = await makeContext({
      Dockerfile:
        'FROM scratch AS files\nCOPY a.txt /out/a.txt\nCMD ["x"]\n\nFROM scratch\nCOPY --from=files /out/a.txt /final.txt\n',
      'a.txt': 'from stage',
    });
    const { result, layout } = await buildContext(context);
    expect(result.manifest.layers).toHaveLength(1);
    expect(await layerListing(layout, result, 0)).toEqual(['-rw-r--r-- 0/0 10 final.txt']);
    expect(result.config.config?.Cmd).toBeUndefined();
  });
});

/** Puts a busybox root filesystem under `context/rootfs` for `COPY rootfs/ /`. */
async function addBusybox(context: string): Promise<void> {
  for (const name of ['bin', 'proc', 'dev', 'sys'])
    await mkdir(path.join(context, 'rootfs', name), { recursive: true });
  await mkdir(path.join(context, 'rootfs/tmp'), { mode: 0o1777 });
  await chmod(path.join(context, 'rootfs/tmp'), 0o1777);
  await copyFile('/bin/busybox', path.join(context, 'rootfs/bin/busybox'));
  for (const applet of ['sh', 'echo', 'pwd', 'id', 'cat'])
    await symlink('busybox', path.join(context, 'rootfs/bin', applet));
}

describe('build RUN', () => {
  it('runs in the working directory with Env, args and USER', async () => {
    const context = await makeContext({
      Dockerfile: [
        'FROM scratch',
        'COPY rootfs/ /',
        'ARG GREETING=hi',
        'ENV TARGET=world',
        'WORKDIR /work',
        'RUN echo "$GREETING $TARGET from $(pwd) as $(id -u)" > out.txt',
        'USER 65534',
        'RUN id -u > /tmp/uid.txt',
      ].join('\n'),
      'rootfs/etc/passwd':
        'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
      'rootfs/etc/group': 'root:x:0:\nnogroup:x:65534:\n',
    });
    await addBusybox(context);

    const events: BuildEvent[] = [];
    const { result, layout } = await buildContext(context, { events });
    const runLayer = await layerListing(layout, result, 2);
    expect(runLayer).toEqual(['drwxr-xr-x 0/0 0 work/', '-rw-r--r-- 0/0 25 work/out.txt']);
    const { stdout } = await exec('tar', [
      '-xzOf',
      path.join(layout, 'blobs/sha256', result.manifest.layers[2]?.digest.slice(7) as string),
      'work/out.txt',
    ]);
    expect(stdout).toBe('hi world from /work as 0\n');
    expect(await layerListing(layout, result, 3)).toEqual([
      'drwxrwxrwt 0/0 0 tmp/',
      '-rw-r--r-- 65534/65534 6 tmp/uid.txt',
    ]);
    expect(result.config.config?.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'TARGET=world',
    ]);
    expect(events.filter((e) => e.type === 'layer-written')).toHaveLength(4);
  });

  it('runs here-documents as BuildKit does', async () => {
    const context = await makeContext({
      Dockerfile: [
        'FROM scratch',
        'COPY rootfs/ /',
        'RUN <<EOF',
        'echo one > /one.txt',
        'echo two >> /one.txt',
        'EOF',
        'RUN cat <<EOT > /two.txt',
        'body $HOME',
        'EOT',
      ].join('\n'),
    });
    await addBusybox(context);
    const { result, layout } = await buildContext(context);
    const read = async (index: number, file: string) => {
      const digest = result.manifest.layers[index]?.digest as string;
      return (
        await exec('tar', ['-xzOf', path.join(layout, 'blobs/sha256', digest.slice(7)), file])
      ).stdout;
    };
    expect(await read(1, 'one.txt')).toBe('one\ntwo\n');
    expect(await read(2, 'two.txt')).toBe('body /\n');
    expect(result.config.history?.at(-1)?.created_by).toBe(
      'RUN /bin/sh -c cat <<EOT > /two.txt\nbody $HOME\nEOT # buildkit',
    );
  });

  it('supports cache, secret, tmpfs and bind mounts', async () => {
    const context = await makeContext({
      Dockerfile: [
        'FROM scratch',
        'COPY rootfs/ /',
        'RUN --mount=type=cache,target=/var/cache/app echo one >> /var/cache/app/log',
        'RUN --mount=type=cache,target=/var/cache/app cat /var/cache/app/log > /cached.txt',
        'RUN --mount=type=secret,id=token cat /run/secrets/token > /secret-len.txt',
        'RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && ls /scratch > /tmpfs.txt',
        'RUN --mount=type=bind,source=data,target=/data cat /data/in.txt > /bound.txt && ! touch /data/new 2>/dev/null',
      ].join('\n'),
      'data/in.txt': 'bound',
      'token.txt': 'tok-123',
    });
    await addBusybox(context);
    for (const applet of ['ls', 'touch'])
      await symlink('busybox', path.join(context, 'rootfs/bin', applet));
    const layout = path.join(dir, 'mounts-layout');
    const result = await build({
      context,
      noPush: true,
      ociLayoutPath: layout,
      workDir: path.join(dir, 'work'),
      secrets: { token: { src: path.join(context, 'token.txt') } },
    });
    // The first RUN writes only into the cache, and its mount points are removed again: no layer.
    expect(result.config.history?.[1]?.empty_layer).toBe(true);
    const listings = await Promise.all(
      [1, 2, 3, 4].map((index) => layerListing(layout, result, index)),
    );
    expect(listings[0]).toEqual(['-rw-r--r-- 0/0 4 cached.txt']);
    expect(listings[1]).toEqual(['-rw-r--r-- 0/0 7 secret-len.txt']);
    expect(listings[2]).toEqual(['-rw-r--r-- 0/0 2 tmpfs.txt']);
    expect(listings[3]).toEqual(['-rw-r--r-- 0/0 5 bound.txt']);
    expect(JSON.stringify(result.config)).not.toContain('tok-123');
  });

  it('leaves ignored paths out of RUN layers', async () => {
    const context = await makeContext({
      Dockerfile:
        'FROM scratch\nCOPY rootfs/ /\nRUN mkdir -p /var/cache/x && echo a > /var/cache/x/f && echo b > /kept\n',
    });
    await addBusybox(context);
    const layout = path.join(dir, 'ignore-path-layout');
    const result = await build({
      context,
      noPush: true,
      ociLayoutPath: layout,
      workDir: path.join(dir, 'work'),
      ignorePaths: ['/var/cache'],
    });
    expect(await layerListing(layout, result, 1)).toEqual([
      '-rw-r--r-- 0/0 2 kept',
      'drwxr-xr-x 0/0 0 var/',
    ]);
  });

  it('passes proxy build args without ARG and keeps other args out', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY rootfs/ /\nRUN echo "${HTTP_PROXY}|${OTHER}" > /args.txt\n',
    });
    await addBusybox(context);
    const { result, layout } = await buildContext(context, {
      buildArgs: { HTTP_PROXY: 'http://proxy:3128', OTHER: 'x' },
    });
    const digest = result.manifest.layers[1]?.digest as string;
    const { stdout } = await exec('tar', [
      '-xzOf',
      path.join(layout, 'blobs/sha256', digest.slice(7)),
      'args.txt',
    ]);
    expect(stdout).toBe('http://proxy:3128|\n');
    expect(JSON.stringify(result.config)).not.toContain('proxy:3128');
  });

  it('reports a failing command with its exit code', async () => {
    const context = await makeContext({
      Dockerfile: 'FROM scratch\nCOPY rootfs/ /\nRUN echo partial output; exit 42\n',
    });
    await addBusybox(context);
    const failure = buildContext(context);
    await expect(failure).rejects.toMatchObject({
      code: 'RUN_FAILED',
      exitCode: 42,
      outputTail: 'partial output',
    });
    await expect(failure).rejects.toThrow(
      'RUN /bin/sh -c echo partial output; exit 42 failed with exit code 42',
    );
  });
});

describe('build errors', () => {
  it('reports a Dockerfile syntax error with its line', async () => {
    const context = await makeContext({ Dockerfile: 'FROM scratch\nCOPPY a /a\n' });
    const failure = buildContext(context);
    await expect(failure).rejects.toThrow(/Dockerfile:2/);
    await expect(failure).rejects.toThrow(/COPPY/);
  });

  it('reports a missing Dockerfile', async () => {
    const context = await makeContext({ 'a.txt': 'a' });
    await expect(buildContext(context)).rejects.toMatchObject({ code: 'DOCKERFILE_NOT_FOUND' });
  });
});

describe('build warnings', () => {
  it('warns about build args no ARG declared', async () => {
    const context = await makeContext({
      Dockerfile: 'ARG GLOBAL\nFROM scratch\nARG LOCAL\nCMD ["x"]\n',
    });
    const events: BuildEvent[] = [];
    await buildContext(context, {
      events,
      buildArgs: { GLOBAL: '1', LOCAL: '2', EXTRA: '3', HTTP_PROXY: 'p' },
    });
    const messages = events.flatMap((event) => (event.type === 'warning' ? [event.message] : []));
    expect(messages).toContain('Build args not consumed by any ARG: EXTRA');
  });

  it('emits lint warnings as events', async () => {
    const context = await makeContext({ Dockerfile: 'FROM scratch as base\nCMD ["x"]\n' });
    const events: BuildEvent[] = [];
    await buildContext(context, { events });
    const warnings = events.filter((event) => event.type === 'warning');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatchObject({ line: 1 });
  });
});
