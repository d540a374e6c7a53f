import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  busyboxLayout,
  chrootRun,
  makeTempDir,
  pushBusybox,
  removeTempDir,
  repoRoot,
  requireTool,
  skopeoCopy,
  skopeoInspect,
  startRegistry,
  umociUnpack,
} from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

// Every --isolation=none build here runs inside a runc container whose root is a bundle unpacked
// from the executor image into this test's temp dir, because the build empties / before each stage.

const DOCKERFILE = (base: string, varRunBase: string): string => `
FROM ${base} AS builder
RUN mkdir -p /out && echo built > /out/artifact && rm /etc/group

FROM builder AS derived
RUN test -f /out/artifact && ! test -e /etc/group && echo derived > /out/check

FROM ${varRunBase} AS varrun
RUN test -L /var/run && echo via-var-run > /var/run/check

FROM ${base}
RUN rm /bin/vi && echo hello > /hello.txt
RUN echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && \\
    echo 'app:x:1000:' >> /etc/group && echo 'extra:x:2000:app' >> /etc/group && \\
    mkdir -p /home/app && chown 1000:1000 /home/app
USER app
WORKDIR /home/app/work
RUN id > ids.txt && touch mine && ls /proc/self > /dev/null
COPY --from=builder /out/artifact /home/app/artifact
COPY --from=derived /out/check /home/app/check
COPY --from=varrun /run/check /home/app/varrun-check
ENV GREETING=hi TOKEN=kept-out-of-argv-42
RUN echo "$GREETING from $(pwd)" > greeting.txt && printf '%s' "$TOKEN" > /tmp/token && \\
    (cat /proc/[0-9]*/cmdline | tr '\\0' '\\n' | grep -c -F -f /tmp/token > argv-hits || true) && \\
    rm /tmp/token
CMD ["cat", "/home/app/work/greeting.txt"]
`;

const DOCKER_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Top-level entries that runc creates as mount points in a bundle's root filesystem. */
const RUNC_MOUNT_POINTS = ['dev', 'proc', 'sys'];

interface RuncResult {
  code: number;
  output: string;
}

let dir: string;
let registry: TestRegistry;
let layout: string;
let stateDir: string;
let busybox: string;
let varRunBase: string;
const started: string[] = [];

function contextOf(bundleName: string): string {
  return path.join(dir, `${bundleName}-context`);
}

/** Pushes busybox with Debian's `/var/run -> /run` symlink as library/busybox-var-run:latest. */
async function pushVarRunBase(): Promise<string> {
  const source = await busyboxLayout();
  const copy = path.join(dir, 'var-run-layout');
  await cp(source.layoutDir, copy, { recursive: true });
  const bundle = path.join(dir, 'var-run-bundle');
  const rootfs = await umociUnpack(copy, source.tag, bundle);
  await rm(path.join(rootfs, 'var', 'run'), { recursive: true, force: true });
  await mkdir(path.join(rootfs, 'var'), { recursive: true });
  await mkdir(path.join(rootfs, 'run'), { recursive: true });
  await symlink('/run', path.join(rootfs, 'var', 'run'));
  await run('umoci', ['repack', '--image', `${copy}:${source.tag}`, bundle]);
  const reference = `${registry.host}/library/busybox-var-run:latest`;
  await skopeoCopy(`oci:${copy}:${source.tag}`, `docker://${reference}`);
  return reference;
}

/**
 * Writes a runc bundle of the executor image whose process runs `args` with the context at
 * /workspace; the context contains `files`, by default the multi-stage Dockerfile.
 */
async function makeBundle(
  name: string,
  args: string[],
  env: string[],
  files: Record<string, string> = { Dockerfile: DOCKERFILE(busybox, varRunBase) },
): Promise<string> {
  const bundle = path.join(dir, name);
  await umociUnpack(layout, 'latest', bundle);
  const context = contextOf(name);
  await mkdir(context, { recursive: true });
  for (const [file, content] of Object.entries(files))
    await writeFile(path.join(context, file), content);

  const configPath = path.join(bundle, 'config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8')) as {
    process: {
      terminal: boolean;
      args: string[];
      env: string[];
      capabilities?: Record<string, string[]>;
    };
    mounts: Array<{ destination: string; type: string; source: string; options: string[] }>;
    linux: { namespaces: Array<{ type: string }> };
  };
  config.process.terminal = false;
  config.process.args = args;
  config.process.env = [...config.process.env, ...env];
  // Docker's default capabilities, which kaniko's documented setups run with; no CAP_SYS_ADMIN.
  config.process.capabilities = Object.fromEntries(
    ['bounding', 'effective', 'permitted'].map((set) => [set, DOCKER_CAPABILITIES]),
  );
  config.mounts.push({
    destination: '/workspace',
    type: 'bind',
    source: context,
    options: ['rbind', 'rw'],
  });
  // The host's network namespace, so the registry on 127.0.0.1 is reachable from the container.
  config.linux.namespaces = config.linux.namespaces.filter((ns) => ns.type !== 'network');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  return bundle;
}

/** Runs a runc container of `bundle` to its end and returns its exit code and combined output. */
function runContainer(bundle: string, id: string): Promise<RuncResult> {
  started.push(id);
  return new Promise((resolve, reject) => {
    const child = spawn('runc', ['--root', stateDir, 'run', '--bundle', bundle, id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

function kilnArgs(extra: string[]): string[] {
  return [
    '/kiln/bin/node',
    '/kiln/kiln.mjs',
    'build',
    '--isolation=none',
    '--context',
    '/workspace',
    '--progress=plain',
    ...extra,
  ];
}

beforeAll(async () => {
  requireTool('runc', 'runc');
  dir = await makeTempDir('isolation-none');
  stateDir = path.join(dir, 'runc-state');
  registry = await startRegistry();
  busybox = await pushBusybox(registry);
  varRunBase = await pushVarRunBase();
  layout = path.join(dir, 'executor');
  const script = path.join(repoRoot(), 'examples', 'executor-image', 'build.sh');
  await run(script, [layout], { maxBuffer: 16 * 1024 * 1024 });
});

afterAll(async () => {
  for (const id of started) {
    await run('runc', ['--root', stateDir, 'kill', id, 'KILL']).catch(() => undefined);
    await run('runc', ['--root', stateDir, 'delete', '--force', id]).catch(() => undefined);
  }
  await registry?.stop();
  if (dir) await removeTempDir(dir);
});

describe('kiln build --isolation=none', () => {
  it('fails outside a container', async () => {
    const args = kilnArgs(['--no-push']);
    const bundle = await makeBundle('refused', args, []);
    const rootfs = path.join(bundle, 'rootfs');
    const before = (await readdir(rootfs)).sort();
    const result = await runContainer(bundle, `kiln-none-refused-${process.pid}`);
    expect(result.output).toContain('needs a dedicated container');
    expect(result.code).toBe(1);
    const after = (await readdir(rootfs)).filter((name) => !RUNC_MOUNT_POINTS.includes(name));
    expect(after.sort()).toEqual(before);
    expect((await readdir(path.join(rootfs, 'usr', 'bin'))).length).toBeGreaterThan(5);
    expect((await readFile(path.join(rootfs, 'kiln', 'kiln.mjs'))).length).toBeGreaterThan(0);
  });

  it('rejects / as context and --ssh', async () => {
    for (const [name, extra, message] of [
      ['root-context', ['--context', '/'], 'The context / is / or contains'],
      ['ssh', ['--ssh', 'default'], '--ssh default cannot be used with --isolation=none'],
    ] as const) {
      // The later --context wins, so the first case builds from /.
      const bundle = await makeBundle(name, kilnArgs(['--no-push', ...extra]), ['container=runc']);
      const rootfs = path.join(bundle, 'rootfs');
      const before = (await readdir(rootfs)).sort();
      const result = await runContainer(bundle, `kiln-none-${name}-${process.pid}`);
      expect(result.output, name).toContain(message);
      expect(result.code, name).toBe(1);
      const after = (await readdir(rootfs)).filter((entry) => !RUNC_MOUNT_POINTS.includes(entry));
      expect(after.sort(), name).toEqual(before);
      expect((await readdir(path.join(rootfs, 'usr', 'bin'))).length, name).toBeGreaterThan(5);
    }
  });

  describe('multi-stage build in a runc container', () => {
    let image: string;
    let result: RuncResult;
    let pulled: string;
    let bundle: string;

    beforeAll(async () => {
      image = `${registry.host}/test/isolation-none:1`;
      const args = kilnArgs(['--destination', image, '--insecure', '--insecure-pull', '--cleanup']);
      // runc sets no container sign of its own; container managers such as podman set this one.
      bundle = await makeBundle('build', args, ['container=runc']);
      result = await runContainer(bundle, `kiln-none-build-${process.pid}`);
      pulled = path.join(dir, 'pulled');
      if (result.code === 0) await skopeoCopy(`docker://${image}`, `oci:${pulled}:latest`);
    });

    it('succeeds', () => {
      expect(result.output).toContain('Built image');
      // No RUN here writes to a kept path, so no warning may claim one did.
      expect(result.output).not.toContain('RUN changed the kept path');
      expect(result.code, result.output).toBe(0);
    });

    it('leaves only kept paths with --cleanup', async () => {
      const rootfs = path.join(bundle, 'rootfs');
      const left = (await readdir(rootfs)).filter((name) => !RUNC_MOUNT_POINTS.includes(name));
      // runc provides no /etc/hosts, /etc/resolv.conf or /var/run, so none of them is kept.
      expect(left.sort()).toEqual(['kiln', 'workspace']);
      expect((await readFile(path.join(rootfs, 'kiln', 'kiln.mjs'))).length).toBeGreaterThan(0);
      expect(await readdir(path.join(rootfs, 'kiln', 'builds'))).toEqual([]);
    });

    it('writes the config of the last stage', async () => {
      const config = (await skopeoInspect(`oci:${pulled}:latest`, { config: true })) as {
        config: { User?: string; WorkingDir?: string; Env?: string[]; Cmd?: string[] };
      };
      expect(config.config.User).toBe('app');
      expect(config.config.WorkingDir).toBe('/home/app/work');
      expect(config.config.Env).toContain('GREETING=hi');
      expect(config.config.Cmd).toEqual(['cat', '/home/app/work/greeting.txt']);
    });

    it('leaks no kiln, kernel or mount files into layers', async () => {
      const base = (await skopeoInspect(`docker://${registry.host}/library/busybox:latest`, {
        raw: true,
      })) as { layers: unknown[] };
      // Only the layers of the build: the busybox base has /dev, /proc and /sys directories.
      const entries = await layerEntries(pulled, base.layers.length);
      expect(entries.length).toBeGreaterThan(0);
      const leaked = entries.filter((name) =>
        /^(kiln|proc|sys|dev|workspace)(\/|$)|^etc\/(hosts|resolv\.conf|hostname)$/.test(name),
      );
      expect(leaked).toEqual([]);
      expect(entries).toContain('bin/.wh.vi');
      expect(entries).toContain('hello.txt');
    });

    it('has the files RUN and COPY wrote', async () => {
      const rootfs = await umociUnpack(pulled, 'latest', path.join(dir, 'result'));
      const ids = await readFile(path.join(rootfs, 'home/app/work/ids.txt'), 'utf8');
      expect(ids.trim()).toBe('uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)');
      expect(await readFile(path.join(rootfs, 'home/app/artifact'), 'utf8')).toBe('built\n');
      // FROM builder re-applied the first stage's layers, with its whiteout of /etc/group.
      expect(await readFile(path.join(rootfs, 'home/app/check'), 'utf8')).toBe('derived\n');
      // The base's /var/run -> /run applied, because the container has no /var/run to keep.
      expect(await readFile(path.join(rootfs, 'home/app/varrun-check'), 'utf8')).toBe(
        'via-var-run\n',
      );
      expect(await readdir(path.join(rootfs, 'bin'))).not.toContain('vi');
      // The first stage removed /etc/group; the last stage's base still has it.
      expect(await readFile(path.join(rootfs, 'etc/group'), 'utf8')).toContain('extra:x:2000:app');
      // No process's argv, kiln's and the RUN's included, showed an environment value.
      expect(await readFile(path.join(rootfs, 'home/app/work/argv-hits'), 'utf8')).toBe('0\n');
      const config = (await skopeoInspect(`oci:${pulled}:latest`, { config: true })) as {
        config: { Cmd: string[] };
      };
      const cmd = await chrootRun(rootfs, config.config.Cmd);
      expect(cmd.stdout).toBe('hi from /home/app/work\n');
    });
  });

  it('rejects COPY into the context', async () => {
    const files = {
      Dockerfile: `FROM ${busybox}\nWORKDIR /workspace\nCOPY data.txt /workspace/data.txt\nCOPY . .\n`,
      'data.txt': 'precious\n',
    };
    const args = kilnArgs(['--no-push', '--insecure-pull']);
    const bundle = await makeBundle('copy-kept', args, ['container=runc'], files);
    const result = await runContainer(bundle, `kiln-none-copy-kept-${process.pid}`);
    expect(result.output).toContain(
      'COPY to /workspace/data.txt writes under /workspace (the build context)',
    );
    expect(result.output).toContain('which --isolation=none keeps on /');
    expect(result.output).toContain('choose another WORKDIR');
    expect(result.code).toBe(1);
    const context = contextOf('copy-kept');
    expect((await readdir(context)).sort()).toEqual(['Dockerfile', 'data.txt']);
    expect(await readFile(path.join(context, 'data.txt'), 'utf8')).toBe('precious\n');
    expect(await readFile(path.join(context, 'Dockerfile'), 'utf8')).toBe(files.Dockerfile);
  });

  it('names the kept path of COPY --from', async () => {
    const files = {
      Dockerfile: [
        `FROM ${busybox} AS build`,
        'RUN mkdir -p /workspace/out && echo x > /workspace/out/file',
        `FROM ${busybox}`,
        'COPY --from=build /workspace/out/ /out/',
        '',
      ].join('\n'),
    };
    const args = kilnArgs(['--no-push', '--insecure-pull']);
    const bundle = await makeBundle('from-kept', args, ['container=runc'], files);
    const result = await runContainer(bundle, `kiln-none-from-kept-${process.pid}`);
    expect(result.output).toContain(
      '/workspace (the build context) is a kept path of --isolation=none',
    );
    expect(result.output).not.toContain('not found in the build context');
    expect(result.output).toContain('RUN changed the kept path /workspace: with --isolation=none');
    expect(result.code).toBe(1);
    // The RUN wrote into the container's /workspace, which is the context's bind mount.
    expect(await readFile(path.join(contextOf('from-kept'), 'out', 'file'), 'utf8')).toBe('x\n');
  });
});

/** Lists the entry names of the image's layers after the first `skipLayers`, without leading `./`. */
async function layerEntries(layoutDir: string, skipLayers: number): Promise<string[]> {
  const index = JSON.parse(await readFile(path.join(layoutDir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string }>;
  };
  const blob = (digest: string): string => path.join(layoutDir, 'blobs', ...digest.split(':'));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as {
    layers: Array<{ digest: string }>;
  };
  const names: string[] = [];
  for (const layer of manifest.layers.slice(skipLayers)) {
    const { stdout } = await run('tar', ['-tzf', blob(layer.digest)], { maxBuffer: 64 << 20 });
    names.push(
      ...stdout
        .split('\n')
        .filter(Boolean)
        .map((name) => name.replace(/^\.\//, '').replace(/\/$/, '')),
    );
  }
  return names;
}
