import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readlink, lstat, symlink, link, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ImageConfig } from '@kiln/oci-spec';
import {
  chrootRun,
  makeTempDir,
  pushBusybox,
  removeTempDir,
  startRegistry,
  umociUnpack,
} from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from './build.js';
import type { BuildOptions } from './options.js';

// One case per Dockerfile instruction and flag, on the busybox base. Two builds with many steps
// each write OCI layouts; `umoci unpack` reads them back, and `chroot` runs the image where a run
// shows more than a listing. ADD of git sources and RUN --mount=type=ssh with a real agent have
// their own suites (copy/add-git.e2e.test.ts, run/ssh-mount.e2e.test.ts).

const exec = promisify(execFile);
const DOWNLOAD = 'downloaded over http\n';
const DOWNLOAD_DATE = new Date('2020-01-02T03:04:05Z');

let registry: TestRegistry;
let work: string;
let server: http.Server;
let agentStub: net.Server;
let main: BuiltImage;
let targeted: BuiltImage;

interface BuiltImage {
  rootfs: string;
  config: ImageConfig;
  layers: number;
}

const MAIN_DOCKERFILE = (httpPort: number, sha: string) => `ARG BASE=busybox
FROM \${BASE} AS base
FROM scratch AS files
COPY <<EOF /from-stage.txt
stage file
EOF
FROM busybox AS onbuild-base
ONBUILD RUN echo triggered > /onbuild.txt
FROM onbuild-base
ARG GREETING=hello
ENV APP_HOME=/srv/app NAME="two words"
LABEL org.example.title="kiln coverage"
MAINTAINER kiln@example.invalid
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD ["true"]
WORKDIR $APP_HOME
WORKDIR sub
RUN echo "$GREETING $NAME" > greeting.txt
RUN ["/bin/sh", "-c", "echo exec form > /exec.txt"]
SHELL ["/bin/sh", "-ec"]
RUN echo "$0 $-" > /shell.txt
RUN <<EOT
echo heredoc body > /heredoc.txt
EOT
RUN echo 'app:x:1234:1234::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1234:' >> /etc/group && mkdir -p /home/app && chown app /home/app
USER app:app
RUN id -u > /home/app/uid.txt && id -g >> /home/app/uid.txt && echo "$HOME" >> /home/app/uid.txt
USER 0
COPY --chown=app:app files/a.txt /owned/
COPY --chmod=640 files/a.txt /chmod-octal.txt
COPY --chmod=u+x,go-r files/a.txt /chmod-symbolic.txt
COPY files/*.txt /wild/
COPY files/ /contents/
COPY files/a.txt /renamed.txt
COPY files/a.txt files/b.txt /into-dir/
COPY --from=files /from-stage.txt /
COPY --from=0 /bin/busybox /from-index
COPY --from=busybox /etc/group /from-image-group
COPY --link files/b.txt /linked/
COPY --exclude=*.md files/ /excluded/
COPY --parents files/./nested/deep.txt /parents/
COPY <<EOF /copy-heredoc.txt
copy heredoc
EOF
ADD files/archive.tar.gz /unpacked-gz/
ADD files/archive.tar.bz2 /unpacked-bz2/
ADD files/archive.tar.xz /unpacked-xz/
ADD --checksum=sha256:${sha} http://127.0.0.1:${httpPort}/download.txt /downloaded.txt
ADD <<EOF /add-heredoc.txt
add heredoc
EOF
RUN --mount=type=cache,target=/cache,id=coverage echo cached > /cache/x && ls /cache > /cache-list.txt
RUN --mount=type=secret,id=token,required test "$(cat /run/secrets/token)" = s3cret && echo seen > /secret.txt
RUN --mount=type=secret,id=token,env=TOKEN test "$TOKEN" = s3cret && echo seen > /secret-env.txt
RUN --mount=type=bind,source=files,target=/mnt cat /mnt/a.txt > /bind.txt
RUN --mount=type=bind,source=files,target=/mnt,rw echo changed > /mnt/a.txt && cat /mnt/a.txt > /bind-rw.txt
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && grep -c ' /scratch tmpfs' /proc/mounts > /tmpfs.txt
RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /ssh.txt
RUN --network=none grep -c : /proc/net/dev > /network-none.txt
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /srv/app/sub/greeting.txt"]
`;

/** A multi-stage file where --target picks a middle stage and the stages it needs. */
const TARGET_DOCKERFILE = `FROM --platform=$BUILDPLATFORM busybox AS first
ARG TARGETARCH
RUN echo first > /first.txt && echo "$TARGETARCH" > /arch.txt
CMD ["inherited"]
FROM busybox AS unused
RUN exit 1
FROM first AS picked
ARG FLAVOR
RUN echo "flavor=$FLAVOR" > /flavor.txt
ENTRYPOINT ["cat"]
FROM busybox
RUN exit 1
`;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry);
  work = await makeTempDir('kiln-instructions');

  server = http.createServer((request, response) => {
    if (request.url !== '/download.txt') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Last-Modified': DOWNLOAD_DATE.toUTCString() }).end(DOWNLOAD);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const httpPort = (server.address() as AddressInfo).port;
  // A listening Unix socket is enough for RUN to see a forwarded SSH_AUTH_SOCK.
  agentStub = net.createServer((socket) => socket.end());
  const agentSocket = path.join(work, 'agent.sock');
  await new Promise<void>((resolve) => agentStub.listen(agentSocket, resolve));
  await writeFile(path.join(work, 'token'), 's3cret');

  const context = path.join(work, 'main');
  const files = path.join(context, 'files');
  await mkdir(path.join(files, 'nested'), { recursive: true });
  await mkdir(path.join(work, 'payload', 'dir'), { recursive: true });
  await writeFile(path.join(work, 'payload', 'dir', 'member.txt'), 'member\n');
  for (const [name, flag] of [
    ['archive.tar.gz', '-czf'],
    ['archive.tar.bz2', '-cjf'],
    ['archive.tar.xz', '-cJf'],
  ] as const)
    await exec('tar', [flag, path.join(files, name), '-C', path.join(work, 'payload'), '.']);
  await writeFile(path.join(files, 'a.txt'), 'file a\n');
  await writeFile(path.join(files, 'b.txt'), 'file b\n');
  await writeFile(path.join(files, 'notes.md'), 'notes\n');
  await writeFile(path.join(files, 'nested', 'deep.txt'), 'deep\n');
  await symlink('a.txt', path.join(files, 'link'));
  await link(path.join(files, 'b.txt'), path.join(files, 'hard'));
  const sha = createHash('sha256').update(DOWNLOAD).digest('hex');
  await writeFile(path.join(context, 'Dockerfile'), MAIN_DOCKERFILE(httpPort, sha));

  main = await buildAndUnpack('main', context, {
    buildArgs: { GREETING: 'hi' },
    secrets: { token: { src: path.join(work, 'token') } },
    ssh: [{ id: 'default', paths: [agentSocket] }],
  });

  const targetContext = path.join(work, 'target');
  await mkdir(targetContext, { recursive: true });
  await writeFile(path.join(targetContext, 'Dockerfile'), TARGET_DOCKERFILE);
  targeted = await buildAndUnpack('target', targetContext, {
    target: 'picked',
    buildArgs: { FLAVOR: 'mint' },
  });
}, 180_000);

afterAll(async () => {
  await registry?.stop();
  server?.close();
  agentStub?.close();
  if (work) await removeTempDir(work);
});

/** Builds `context` into an OCI layout and unpacks it with umoci. */
async function buildAndUnpack(
  name: string,
  context: string,
  options: Partial<BuildOptions>,
): Promise<BuiltImage> {
  const layout = path.join(work, `${name}-layout`);
  const result = await build({
    context,
    destinations: [`${registry.host}/coverage/${name}:1`],
    noPush: true,
    ociLayoutPath: layout,
    insecurePull: true,
    registryMap: { 'docker.io': [registry.host] },
    workDir: path.join(work, 'kiln'),
    cache: { dir: path.join(work, 'cache') },
    ...options,
  });
  const rootfs = await umociUnpack(layout, '1', path.join(work, `${name}-bundle`));
  return { rootfs, config: result.config, layers: result.manifest.layers.length };
}

async function text(image: BuiltImage, file: string): Promise<string> {
  return readFile(path.join(image.rootfs, file), 'utf8');
}

/** Returns `mode uid:gid` of a path as the image's own busybox stat prints it. */
async function statInImage(image: BuiltImage, file: string): Promise<string> {
  const run = await chrootRun(image.rootfs, ['stat', '-c', '%a %u:%g', file]);
  return run.stdout.trim();
}

async function exists(image: BuiltImage, file: string): Promise<boolean> {
  return lstat(path.join(image.rootfs, file)).then(
    () => true,
    () => false,
  );
}

type Case = [string, () => Promise<void>];

const CASES: Case[] = [
  [
    'ARG before FROM, FROM a registry image',
    async () => {
      expect(await exists(main, 'bin/busybox')).toBe(true);
    },
  ],
  [
    'FROM an earlier stage, ONBUILD trigger',
    async () => {
      expect(await text(main, 'onbuild.txt')).toBe('triggered\n');
      expect(main.config.config?.OnBuild ?? []).toEqual([]);
    },
  ],
  [
    'ARG with --build-arg, ENV, WORKDIR relative, RUN shell form',
    async () => {
      expect(await text(main, 'srv/app/sub/greeting.txt')).toBe('hi two words\n');
      expect(main.config.config?.WorkingDir).toBe('/srv/app/sub');
      expect(main.config.config?.Env).toEqual(
        expect.arrayContaining(['APP_HOME=/srv/app', 'NAME=two words']),
      );
      expect(main.config.config?.Env?.some((entry) => entry.startsWith('GREETING='))).toBe(false);
    },
  ],
  [
    'RUN exec form',
    async () => {
      expect(await text(main, 'exec.txt')).toBe('exec form\n');
    },
  ],
  [
    'SHELL',
    async () => {
      expect(await text(main, 'shell.txt')).toMatch(/^\/bin\/sh .*e/);
      expect(main.config.config?.Shell).toEqual(['/bin/sh', '-ec']);
    },
  ],
  [
    'RUN here-document',
    async () => {
      expect(await text(main, 'heredoc.txt')).toBe('heredoc body\n');
    },
  ],
  [
    'USER name:group with HOME, USER uid',
    async () => {
      expect(await text(main, 'home/app/uid.txt')).toBe('1234\n1234\n/home/app\n');
      expect(main.config.config?.User).toBe('0');
    },
  ],
  [
    'LABEL, MAINTAINER, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK',
    async () => {
      const config = main.config.config;
      expect(config?.Labels?.['org.example.title']).toBe('kiln coverage');
      expect(main.config.author).toBe('kiln@example.invalid');
      expect(Object.keys(config?.ExposedPorts ?? {}).sort()).toEqual(['53/udp', '8080/tcp']);
      expect(Object.keys(config?.Volumes ?? {})).toEqual(['/data']);
      expect(config?.StopSignal).toBe('SIGTERM');
      expect(
        (config as { Healthcheck?: { Test: string[]; Interval: number } }).Healthcheck,
      ).toMatchObject({
        Test: ['CMD', 'true'],
        Interval: 30_000_000_000,
      });
    },
  ],
  [
    'ENTRYPOINT and CMD run with chroot',
    async () => {
      const config = main.config.config;
      const argv = [...(config?.Entrypoint ?? []), ...(config?.Cmd ?? [])];
      const run = await chrootRun(main.rootfs, argv);
      expect(run.stdout).toBe('hi two words\n');
    },
  ],
  [
    'COPY --chown with names',
    async () => {
      expect(await statInImage(main, '/owned/a.txt')).toBe('644 1234:1234');
    },
  ],
  [
    'COPY --chmod octal and symbolic',
    async () => {
      expect(await statInImage(main, '/chmod-octal.txt')).toBe('640 0:0');
      expect(await statInImage(main, '/chmod-symbolic.txt')).toBe('700 0:0');
    },
  ],
  [
    'COPY wildcards and several sources',
    async () => {
      expect(await text(main, 'wild/a.txt')).toBe('file a\n');
      expect(await text(main, 'wild/b.txt')).toBe('file b\n');
      expect(await exists(main, 'wild/notes.md')).toBe(false);
      expect(await text(main, 'into-dir/b.txt')).toBe('file b\n');
    },
  ],
  [
    'COPY directory contents, symlinks and hardlinks',
    async () => {
      expect(await text(main, 'contents/nested/deep.txt')).toBe('deep\n');
      expect(await readlink(path.join(main.rootfs, 'contents/link'))).toBe('a.txt');
      const run = await chrootRun(main.rootfs, [
        'stat',
        '-c',
        '%i',
        '/contents/b.txt',
        '/contents/hard',
      ]);
      const [first, second] = run.stdout.trim().split('\n');
      expect(first).toBe(second);
    },
  ],
  [
    'COPY to a file name',
    async () => {
      expect(await text(main, 'renamed.txt')).toBe('file a\n');
    },
  ],
  [
    'COPY --from a stage name, an index and an image',
    async () => {
      expect(await text(main, 'from-stage.txt')).toBe('stage file\n');
      expect((await lstat(path.join(main.rootfs, 'from-index'))).size).toBeGreaterThan(100_000);
      expect(await text(main, 'from-image-group')).toContain('root:');
    },
  ],
  [
    'COPY --link, --exclude, --parents',
    async () => {
      expect(await text(main, 'linked/b.txt')).toBe('file b\n');
      expect(await exists(main, 'excluded/a.txt')).toBe(true);
      expect(await exists(main, 'excluded/notes.md')).toBe(false);
      expect(await text(main, 'parents/nested/deep.txt')).toBe('deep\n');
    },
  ],
  [
    'COPY and ADD here-documents',
    async () => {
      expect(await text(main, 'copy-heredoc.txt')).toBe('copy heredoc\n');
      expect(await text(main, 'add-heredoc.txt')).toBe('add heredoc\n');
    },
  ],
  [
    'ADD local archives: gzip, bzip2, xz',
    async () => {
      for (const dir of ['unpacked-gz', 'unpacked-bz2', 'unpacked-xz'])
        expect(await text(main, `${dir}/dir/member.txt`)).toBe('member\n');
    },
  ],
  [
    'ADD URL with --checksum and Last-Modified',
    async () => {
      expect(await text(main, 'downloaded.txt')).toBe(DOWNLOAD);
      const stats = await lstat(path.join(main.rootfs, 'downloaded.txt'));
      expect(stats.mtime.toISOString()).toBe(DOWNLOAD_DATE.toISOString());
      expect(stats.mode & 0o7777).toBe(0o600);
    },
  ],
  [
    'RUN --mount=type=cache',
    async () => {
      expect(await text(main, 'cache-list.txt')).toBe('x\n');
      expect(await exists(main, 'cache/x')).toBe(false);
    },
  ],
  [
    'RUN --mount=type=secret as a file and as env',
    async () => {
      expect(await text(main, 'secret.txt')).toBe('seen\n');
      expect(await text(main, 'secret-env.txt')).toBe('seen\n');
      expect(await exists(main, 'run/secrets/token')).toBe(false);
    },
  ],
  [
    'RUN --mount=type=bind read-only and rw',
    async () => {
      expect(await text(main, 'bind.txt')).toBe('file a\n');
      expect(await text(main, 'bind-rw.txt')).toBe('changed\n');
      expect(await exists(main, 'mnt/a.txt')).toBe(false);
    },
  ],
  [
    'RUN --mount=type=tmpfs',
    async () => {
      expect(await text(main, 'tmpfs.txt')).toBe('1\n');
      expect(await exists(main, 'scratch')).toBe(false);
    },
  ],
  [
    'RUN --mount=type=ssh',
    async () => {
      expect(await text(main, 'ssh.txt')).toBe('/run/buildkit/ssh_agent.0\n');
      expect(await exists(main, 'run/buildkit')).toBe(false);
    },
  ],
  [
    'RUN --network=none',
    async () => {
      // /proc/net/dev has two header lines without a colon, then one line per interface: only lo here.
      expect(await text(main, 'network-none.txt')).toBe('1\n');
    },
  ],
  [
    'FROM --platform, predefined platform ARG',
    async () => {
      const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
      expect(await text(targeted, 'arch.txt')).toBe(`${arch[process.arch] ?? process.arch}\n`);
    },
  ],
  [
    'ENTRYPOINT resets an inherited CMD',
    async () => {
      expect(targeted.config.config?.Entrypoint).toEqual(['cat']);
      expect(targeted.config.config?.Cmd).toBeUndefined();
    },
  ],
  [
    '--target picks a stage and skips unused ones',
    async () => {
      expect(await text(targeted, 'first.txt')).toBe('first\n');
      expect(await text(targeted, 'flavor.txt')).toBe('flavor=mint\n');
      const run = await chrootRun(targeted.rootfs, [
        ...(targeted.config.config?.Entrypoint ?? []),
        '/flavor.txt',
      ]);
      expect(run.stdout).toBe('flavor=mint\n');
    },
  ],
];

describe('instructions on busybox', () => {
  it.each(CASES)('%s', async (_name, check) => {
    await check();
  });
});
