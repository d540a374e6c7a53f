import { join } from 'node:path';

import type { RunResult } from './process.js';
import { requireTool, runCommand } from './process.js';

export interface SkopeoAuthOptions {
  /** `user:password` for the registry. */
  creds?: string;
  /** Directory with a trusted `ca.crt` (and client `*.cert`/`*.key`) for a TLS registry. */
  certDir?: string;
}

export interface SkopeoInspectOptions extends SkopeoAuthOptions {
  /** Print the manifest exactly as stored. */
  raw?: boolean;
  /** Print the image config. */
  config?: boolean;
  /** Do not list the repository's tags (needed for a repository that has none). */
  noTags?: boolean;
}

const TRANSPORTS = ['docker', 'oci', 'oci-archive', 'docker-archive', 'dir', 'containers-storage'];

/** Adds `docker://` to a bare `host/repo:tag` reference. */
function withTransport(ref: string): string {
  const transport = ref.slice(0, ref.indexOf(':'));
  return TRANSPORTS.includes(transport) ? ref : `docker://${ref}`;
}

function authArgs(
  prefix: '' | 'src-' | 'dest-',
  options: SkopeoAuthOptions,
  ref: string,
): string[] {
  if (!ref.startsWith('docker://')) return [];
  const args = options.certDir
    ? [`--${prefix}cert-dir=${options.certDir}`]
    : [`--${prefix}tls-verify=false`];
  if (options.creds) args.push(`--${prefix}creds=${options.creds}`);
  return args;
}

/** Runs `skopeo inspect` (with `--raw` or `--config` when asked) and returns the parsed JSON. */
export async function skopeoInspect(
  ref: string,
  options: SkopeoInspectOptions = {},
): Promise<unknown> {
  requireTool('skopeo', 'skopeo');
  const target = withTransport(ref);
  const args = ['inspect', ...authArgs('', options, target)];
  if (options.raw) args.push('--raw');
  if (options.config) args.push('--config');
  if (options.noTags) args.push('--no-tags');
  args.push(target);
  const { stdout } = await runCommand('skopeo', args);
  return JSON.parse(stdout) as unknown;
}

export interface SkopeoCopyOptions {
  src?: SkopeoAuthOptions;
  dest?: SkopeoAuthOptions;
  /** Extra arguments such as `--all` or `--format=oci`. */
  extraArgs?: string[];
}

/** Runs `skopeo copy SRC DEST`; bare registry references get `docker://`. */
export async function skopeoCopy(
  src: string,
  dest: string,
  options: SkopeoCopyOptions = {},
): Promise<void> {
  requireTool('skopeo', 'skopeo');
  const source = withTransport(src);
  const destination = withTransport(dest);
  await runCommand('skopeo', [
    'copy',
    '-q',
    ...authArgs('src-', options.src ?? {}, source),
    ...authArgs('dest-', options.dest ?? {}, destination),
    ...(options.extraArgs ?? []),
    source,
    destination,
  ]);
}

/** Unpacks `layoutDir:tag` with `umoci unpack` into a new `bundleDir` and returns its rootfs path. */
export async function umociUnpack(
  layoutDir: string,
  tag: string,
  bundleDir: string,
): Promise<string> {
  requireTool('umoci', 'umoci');
  await runCommand('umoci', ['unpack', '--image', `${layoutDir}:${tag}`, bundleDir]);
  return join(bundleDir, 'rootfs');
}

export interface ChrootRunOptions {
  env?: Record<string, string>;
  /** Working directory inside the root filesystem; needs /bin/sh in it. */
  cwd?: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Runs `argv` inside `rootfs` with `chroot` and returns its exit code and output (no failure on non-zero). */
export async function chrootRun(
  rootfs: string,
  argv: string[],
  options: ChrootRunOptions = {},
): Promise<RunResult> {
  requireTool('chroot', 'coreutils');
  const env = { PATH: DEFAULT_PATH, ...options.env };
  // chroot always starts in the new `/`, so a working directory needs a shell to change into it.
  const command = options.cwd
    ? ['/bin/sh', '-c', 'cd "$0" && exec "$@"', options.cwd, ...argv]
    : argv;
  return runCommand('chroot', [rootfs, ...command], { env, allowFailure: true });
}
