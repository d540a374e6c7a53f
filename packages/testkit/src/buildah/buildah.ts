import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { TestkitError } from '../errors.js';
import { makeTempDir, removeTempDir, requireTool, runCommand } from '../process.js';
import type { RunResult } from '../process.js';
import { dockerDirToOciLayout } from './docker-dir.js';

/** Private buildah storage and registries configuration, reusable across builds for its layer cache. */
export interface BuildahStorage {
  dir: string;
  /** Environment that points buildah at this storage and configuration. */
  env: NodeJS.ProcessEnv;
  /** Removes every container and image, then the directory. */
  remove(): Promise<void>;
}

/**
 * Creates private buildah storage (vfs driver) and a registries.conf that sends `docker.io`
 * names to `registryHost` over plain HTTP, so Dockerfiles keep `FROM debian:bookworm`.
 */
export async function createBuildahStorage(registryHost: string): Promise<BuildahStorage> {
  requireTool('buildah', 'buildah');
  const dir = await makeTempDir('buildah');
  await mkdir(join(dir, 'root'));
  await mkdir(join(dir, 'run'));
  await mkdir(join(dir, 'tmp'));
  const storageConf = join(dir, 'storage.conf');
  const registriesConf = join(dir, 'registries.conf');
  await writeFile(
    storageConf,
    [
      '[storage]',
      'driver = "vfs"',
      `graphroot = "${join(dir, 'root')}"`,
      `runroot = "${join(dir, 'run')}"`,
      '',
    ].join('\n'),
  );
  await writeFile(
    registriesConf,
    [
      'unqualified-search-registries = ["docker.io"]',
      'short-name-mode = "permissive"',
      '',
      '[[registry]]',
      'prefix = "docker.io"',
      `location = "${registryHost}"`,
      'insecure = true',
      '',
      '[[registry]]',
      `location = "${registryHost}"`,
      'insecure = true',
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    BUILDAH_ISOLATION: 'chroot',
    // Cache mounts and temporary build files stay inside this storage directory.
    TMPDIR: join(dir, 'tmp'),
  };
  const remove = async (): Promise<void> => {
    await runCommand('buildah', ['rm', '--all'], { env, allowFailure: true });
    await runCommand('buildah', ['rmi', '--all', '--force'], { env, allowFailure: true });
    await removeTempDir(dir);
  };
  return { dir, env, remove };
}

export interface BuildahBuildOptions {
  contextDir: string;
  /** Dockerfile path (default: `<contextDir>/Dockerfile`). */
  dockerfile?: string;
  /** Local image name, for example `realworld/node-service:latest`. */
  tag: string;
  /** Registry (host:port) that serves `docker.io` names and other fully qualified images. */
  registryHost: string;
  buildArgs?: Record<string, string>;
  /** Secret id to the file that contains it. */
  secrets?: Record<string, string>;
  target?: string;
  /** Keep and reuse a layer per instruction, as a default Docker build does. */
  layers?: boolean;
  /**
   * Image format; `docker` (the default, as with Docker) keeps ONBUILD, HEALTHCHECK and SHELL,
   * which buildah 1.28 leaves out of OCI configs.
   */
  format?: 'oci' | 'docker';
  /** OCI layout to push the result into (as `<layoutDir>:<tag's tag>`). */
  layoutDir?: string;
  /** Registry reference (`host:port/repo:tag`) to push the result to as well. */
  destination?: string;
  /** Storage to build in; a private one is made and removed when absent. */
  storage?: BuildahStorage;
}

export interface BuildahBuildResult {
  /** Image ID (config digest) that buildah reports. */
  imageId: string;
  /** Tag inside `layoutDir`, when one was written. */
  layoutTag: string | undefined;
  build: RunResult;
}

/** Returns the `buildah bud` arguments that `buildahBuild` runs for `options`. */
export function buildahBudArgs(options: BuildahBuildOptions): string[] {
  const args = [
    'bud',
    '--isolation',
    'chroot',
    '--storage-driver',
    'vfs',
    '--tls-verify=false',
    '--identity-label=false',
    `--layers=${options.layers ?? true}`,
    `--format=${options.format ?? 'docker'}`,
    '-t',
    options.tag,
    '-f',
    options.dockerfile ?? join(options.contextDir, 'Dockerfile'),
  ];
  for (const [key, value] of Object.entries(options.buildArgs ?? {})) {
    args.push('--build-arg', `${key}=${value}`);
  }
  for (const [id, file] of Object.entries(options.secrets ?? {})) {
    args.push('--secret', `id=${id},src=${file}`);
  }
  if (options.target !== undefined) args.push('--target', options.target);
  args.push(options.contextDir);
  return args;
}

/**
 * Builds with `buildah bud --isolation chroot --storage-driver vfs`, then pushes the image to an
 * OCI layout and/or a registry. A failed build rejects with buildah's output in the message.
 */
export async function buildahBuild(options: BuildahBuildOptions): Promise<BuildahBuildResult> {
  const storage = options.storage ?? (await createBuildahStorage(options.registryHost));
  const format = options.format ?? 'docker';
  try {
    const args = buildahBudArgs(options);

    const build = await runCommand('buildah', args, { env: storage.env, allowFailure: true });
    if (build.code !== 0) {
      throw new TestkitError(
        'BUILDAH_FAILED',
        `buildah bud of ${options.contextDir} failed with exit code ${build.code}: ${lastLines(build.stderr || build.stdout)}`,
        { hint: 'run the same buildah bud command by hand to see the full output' },
      );
    }
    const imageId = lastLines(build.stdout, 1).trim();

    let layoutTag: string | undefined;
    if (options.layoutDir !== undefined) {
      layoutTag = tagOf(options.tag);
      await pushToLayout(storage, options.tag, options.layoutDir, layoutTag, format);
    }
    if (options.destination !== undefined) {
      await push(storage, options.tag, `docker://${options.destination}`, format);
    }
    return { imageId, layoutTag, build };
  } finally {
    if (options.storage === undefined) await storage.remove();
  }
}

async function pushToLayout(
  storage: BuildahStorage,
  image: string,
  layoutDir: string,
  tag: string,
  format: 'oci' | 'docker',
): Promise<void> {
  if (format === 'oci') {
    await push(storage, image, `oci:${layoutDir}:${tag}`, format);
    return;
  }
  const dir = join(storage.dir, 'tmp', `push-${randomBytes(4).toString('hex')}`);
  try {
    await push(storage, image, `dir:${dir}`, format);
    await dockerDirToOciLayout(dir, layoutDir, tag);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function push(
  storage: BuildahStorage,
  image: string,
  target: string,
  format: 'oci' | 'docker',
): Promise<void> {
  const args = ['push', '--storage-driver', 'vfs', '--tls-verify=false'];
  if (format === 'docker' && target.startsWith('docker://')) args.push('--format', 'v2s2');
  await runCommand('buildah', [...args, image, target], { env: storage.env });
}

function tagOf(name: string): string {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(colon + 1) : 'latest';
}

function lastLines(text: string, count = 15): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
