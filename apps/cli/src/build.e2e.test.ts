import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  chrootRun,
  makeTempDir,
  pushBusybox,
  removeTempDir,
  runCommand,
  skopeoCopy,
  skopeoInspect,
  startRegistry,
} from '@kiln/testkit';
import type { TestRegistry } from '@kiln/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKiln } from './run-kiln.test-support.js';
import type { KilnRun } from './run-kiln.test-support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const helloContext = path.join(repoRoot, 'examples/hello');

let registry: TestRegistry;
let tmp: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry);
  tmp = await makeTempDir('kiln-cli-e2e-');
});

afterAll(async () => {
  await registry?.stop();
  if (tmp) await removeTempDir(tmp);
});

/** Runs `kiln ARGS` in process with KILN_DIR under the test's temp dir. */
const kiln = (args: string[]): Promise<KilnRun> => runKiln(args, path.join(tmp, 'kiln-dir'));

/** Creates a build context under the test's temp dir holding only `dockerfile`. */
async function writeContext(name: string, dockerfile: string): Promise<string> {
  const context = path.join(tmp, name);
  await mkdir(context, { recursive: true });
  await writeFile(path.join(context, 'Dockerfile'), dockerfile);
  return context;
}

function registryFlags(): string[] {
  return ['--insecure', '--insecure-pull', '--registry-map', `docker.io=${registry.host}`];
}

function digestOf(stdout: string): string {
  const match = /sha256:[0-9a-f]{64}/.exec(stdout.trim().split('\n').at(-1) ?? '');
  expect(match, `no digest in: ${stdout}`).not.toBeNull();
  return (match as RegExpExecArray)[0];
}

interface InspectedConfig {
  config: { Env?: string[]; WorkingDir?: string; Cmd?: string[] };
  rootfs: { diff_ids: string[] };
  history: Array<{ created_by?: string; empty_layer?: boolean }>;
}

describe('kiln build examples/hello', () => {
  let digest: string;
  let destination: string;
  let pushLog: string;

  beforeAll(async () => {
    destination = `${registry.host}/hello:1`;
    const result = await kiln([
      'build',
      '--context',
      helloContext,
      '--destination',
      destination,
      ...registryFlags(),
      '--verbosity=debug',
    ]);
    expect(result.code, result.stderr).toBe(0);
    digest = digestOf(result.stdout);
    pushLog = result.stderr;
  });

  it('mounts or skips the base layer instead of uploading it', async () => {
    const manifest = (await skopeoInspect(destination, { raw: true })) as {
      layers: Array<{ digest: string }>;
    };
    const baseLayer = manifest.layers[0]?.digest as string;
    expect(pushLog).toMatch(new RegExp(`(Mounted|Skipped) ${baseLayer}`));
    expect(pushLog).not.toContain(`Uploaded ${baseLayer}`);
  });

  it('keeps sandbox mounts out of the RUN layer', async () => {
    const manifest = (await skopeoInspect(destination, { raw: true })) as {
      layers: Array<{ digest: string }>;
    };
    const layout = path.join(tmp, 'run-layer');
    await skopeoCopy(destination, `oci:${layout}:hello`);
    const runLayer = manifest.layers[2]?.digest.slice('sha256:'.length) as string;
    const listing = await runCommand('tar', ['-tzf', path.join(layout, 'blobs/sha256', runLayer)]);
    expect(listing.stdout.trim().split('\n')).toEqual(['srv/', 'srv/run.txt']);
  });

  it('pushes an image that skopeo reads', async () => {
    const inspected = (await skopeoInspect(destination)) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(digest);

    const manifest = (await skopeoInspect(destination, { raw: true })) as {
      mediaType: string;
      layers: Array<{ mediaType: string }>;
    };
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    for (const layer of manifest.layers)
      expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');

    const config = (await skopeoInspect(destination, { config: true })) as InspectedConfig;
    expect(config.config.Env).toContain('GREETING=hello');
    expect(config.config.Env?.some((entry) => entry.startsWith('PATH='))).toBe(true);
    expect(config.config.WorkingDir).toBe('/srv');
    expect(config.config.Cmd).toEqual(['cat', '/srv/greeting.txt', '/srv/run.txt']);
    expect(config.rootfs.diff_ids).toHaveLength(manifest.layers.length);
    const added = config.history.slice(-5);
    expect(added.map((h) => h.empty_layer ?? false)).toEqual([true, false, false, true, true]);
    expect(added[2]?.created_by).toContain('from RUN');
  });

  it('unpacks with umoci and runs the Cmd in a chroot', async () => {
    const layout = path.join(tmp, 'pulled');
    await skopeoCopy(destination, `oci:${layout}:hello`);
    const bundle = path.join(tmp, 'bundle');
    await runCommand('umoci', ['unpack', '--image', `${layout}:hello`, bundle]);
    const rootfs = path.join(bundle, 'rootfs');

    expect(await readFile(path.join(rootfs, 'srv/greeting.txt'), 'utf8')).toBe(
      await readFile(path.join(helloContext, 'greeting.txt'), 'utf8'),
    );
    expect(await readFile(path.join(rootfs, 'srv/run.txt'), 'utf8')).toBe('hello from RUN\n');
    expect((await stat(path.join(rootfs, 'srv/run.txt'))).mode & 0o7777).toBe(0o640);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(tmp);

    const run = await chrootRun(rootfs, ['cat', '/srv/greeting.txt', '/srv/run.txt'], {
      cwd: '/srv',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('hello from COPY\nhello from RUN\n');
  });

  it('writes the same image to an OCI layout and a docker tarball', async () => {
    const layout = path.join(tmp, 'layout');
    const tarPath = path.join(tmp, 'hello.tar');
    const digestFile = path.join(tmp, 'digest');
    const result = await kiln([
      'build',
      '-c',
      helloContext,
      '-d',
      destination,
      '--no-push',
      '--oci-layout-path',
      layout,
      '--tar-path',
      tarPath,
      '--digest-file',
      digestFile,
      '--image-name-with-digest-file',
      path.join(tmp, 'names'),
      '--image-name-tag-with-digest-file',
      path.join(tmp, 'tags'),
      '--insecure-pull',
      '--registry-map',
      `docker.io=${registry.host}`,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const localDigest = digestOf(result.stdout);
    expect(await readFile(digestFile, 'utf8')).toBe(localDigest);
    expect(await readFile(path.join(tmp, 'names'), 'utf8')).toBe(
      `${registry.host}/hello@${localDigest}\n`,
    );
    expect(await readFile(path.join(tmp, 'tags'), 'utf8')).toBe(`${destination}@${localDigest}\n`);

    const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(localDigest);
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('1');
    const rootfs = path.join(await umociBundle(layout, '1', 'layout-bundle'), 'rootfs');
    expect(await readFile(path.join(rootfs, 'srv/run.txt'), 'utf8')).toBe('hello from RUN\n');

    const listing = await runCommand('tar', ['-tf', tarPath]);
    expect(listing.stdout.split('\n')).toContain('manifest.json');
    const extracted = path.join(tmp, 'tar-out');
    await mkdir(extracted);
    await runCommand('tar', ['-xf', tarPath, '-C', extracted]);
    const manifestJson = JSON.parse(await readFile(path.join(extracted, 'manifest.json'), 'utf8'));
    expect(manifestJson[0].RepoTags).toEqual([destination]);
    const tarConfig = JSON.parse(
      await readFile(path.join(extracted, manifestJson[0].Config), 'utf8'),
    ) as InspectedConfig;
    expect(tarConfig.config.Cmd).toEqual(['cat', '/srv/greeting.txt', '/srv/run.txt']);
    const tarIndex = JSON.parse(await readFile(path.join(extracted, 'index.json'), 'utf8'));
    expect(tarIndex.manifests[0].digest).toBe(localDigest);

    // skopeo reads the tarball through its docker-archive transport, independently of our parsing.
    const archiveConfig = (await skopeoInspect(`docker-archive:${tarPath}`, {
      config: true,
    })) as InspectedConfig;
    expect(archiveConfig.config.Cmd).toEqual(['cat', '/srv/greeting.txt', '/srv/run.txt']);
    expect(archiveConfig.rootfs.diff_ids).toEqual(tarConfig.rootfs.diff_ids);
    const layoutInspect = (await skopeoInspect(`oci:${layout}:1`)) as { Digest: string };
    expect(layoutInspect.Digest).toBe(localDigest);
  });

  it('gives the same digest twice with --reproducible', async () => {
    const args = [
      'build',
      '-c',
      helloContext,
      '--no-push',
      '--reproducible',
      '--insecure-pull',
      '--registry-map',
      `docker.io=${registry.host}`,
    ];
    const first = await kiln(args);
    const second = await kiln(args);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(digestOf(second.stdout)).toBe(digestOf(first.stdout));
  });
});

describe('kiln build COPY --from an image', () => {
  it('copies a file out of a pulled image', async () => {
    const context = await writeContext(
      'copy-from-image',
      'FROM scratch\nCOPY --from=busybox /bin/busybox /bin/busybox\n',
    );
    const layout = path.join(tmp, 'copy-from-image-layout');
    const result = await kiln([
      'build',
      '-c',
      context,
      '--no-push',
      '--oci-layout-path',
      layout,
      ...registryFlags(),
    ]);
    expect(result.code, result.stderr).toBe(0);
    const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8'));
    const manifest = JSON.parse(
      await readFile(path.join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'),
    );
    expect(manifest.layers).toHaveLength(1);
    const listing = await runCommand('tar', [
      '--numeric-owner',
      '-tvzf',
      path.join(layout, 'blobs/sha256', manifest.layers[0].digest.slice(7)),
    ]);
    const lines = listing.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^-rwxr-xr-x 0\/0 .* bin\/busybox$/);
  });
});

describe('kiln build failures', () => {
  it('names a base image the registry does not have', async () => {
    const context = await writeContext('missing-base', 'FROM no-such-image:1\nRUN true\n');
    const result = await kiln(['build', '-c', context, '--no-push', ...registryFlags()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no-such-image');
    expect(result.stderr).toContain('hint:');
  });

  it('exits non-zero naming a failing RUN command', async () => {
    const context = await writeContext(
      'failing',
      'FROM busybox\nRUN echo about to fail && exit 3\n',
    );
    const result = await kiln([
      'build',
      '-c',
      context,
      '--no-push',
      '--insecure-pull',
      '--registry-map',
      `docker.io=${registry.host}`,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('echo about to fail && exit 3');
    expect(result.stderr).toContain('exit code 3');
    expect(result.stderr).toContain('about to fail');
    expect(result.stderr).toContain('Dockerfile:2\n');
    expect(result.stderr).toContain('>>> 2 | RUN echo about to fail && exit 3');
  });
});

async function umociBundle(layout: string, tag: string, name: string): Promise<string> {
  const bundle = path.join(tmp, name);
  await runCommand('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
  return bundle;
}

describe('built kiln command', () => {
  const main = path.join(repoRoot, 'apps/cli/dist/main.js');

  it('prints help from dist', async () => {
    await stat(main).catch(() => {
      throw new Error(
        `${main} is missing: run "pnpm build" (or pnpm --filter "@kiln/cli..." build) first`,
      );
    });
    const top = await runCommand('node', [main, '--help']);
    expect(top.stdout).toContain('build');
    const buildHelp = await runCommand('node', [main, 'build', '--help']);
    expect(buildHelp.stdout).toContain('--oci-layout-path');
    const bad = await runCommand('node', [main, 'build', '--bogus'], { allowFailure: true });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('cancels a running RUN on SIGINT and cleans up', async () => {
    const context = await writeContext(
      'interrupted',
      // An unusual duration, so the process check below finds only this build's command.
      'FROM busybox\nRUN echo waiting && sleep 7211\n',
    );
    const kilnDir = path.join(tmp, 'interrupted-kiln-dir');
    const child = spawn(
      'node',
      [
        main,
        'build',
        '-c',
        context,
        '--no-push',
        '--insecure-pull',
        '--registry-map',
        `docker.io=${registry.host}`,
      ],
      { env: { ...process.env, KILN_DIR: kilnDir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let interrupted = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (interrupted || !stderr.includes('  waiting')) return;
      interrupted = true;
      child.kill('SIGINT');
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('cancelled');
    expect(await readdir(path.join(kilnDir, 'builds'))).toEqual([]);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(kilnDir);
    const sleeping = await runCommand('pgrep', ['-f', 'sleep 7211'], { allowFailure: true });
    expect(sleeping.stdout.trim()).toBe('');
  });
});
