import { spawn } from 'node:child_process';
import { copyFile, lstat, mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { EngineError, cancelledError } from '../errors.js';
import { resolveInRoot } from '../util/rootfs-path.js';
import { ENV_INPUT_FD, SANDBOX_SETUP_EXIT_CODE, buildChrootCommand } from './chroot-command.js';
import type { SandboxMount, SpawnSpec } from './chroot-command.js';
import { OutputTail } from './output-tail.js';
import type { RunIdentity } from './users.js';

export interface RunInChrootOptions {
  rootfs: string;
  argv: string[];
  /** Environment of the command, `NAME=value` entries; nothing of the host's leaks in. */
  env: string[];
  cwd: string;
  identity: RunIdentity;
  /** Mounts of RUN --mount, made after the sandbox's own; their mount points must exist. */
  extraMounts?: SandboxMount[];
  /** Aborting kills the command (and its PID namespace) and rejects with BUILD_CANCELLED. */
  signal?: AbortSignal;
  /** `none` gives the command a network namespace of its own with only loopback; default `host`. */
  network?: 'host' | 'none';
  /** A scratch directory for the per-run copies of resolv.conf and hosts. */
  scratchDir: string;
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Called when the image's /proc, /dev or /sys is missing or not a directory, saying what RUN does instead. */
  onWarning?: (message: string) => void;
  /**
   * Called after the sandbox's placeholder files exist and before anything else changes (take a
   * baseline here). `placeholdersCreated` is true when this run created any.
   */
  beforeRun?: (placeholdersCreated: boolean) => Promise<void>;
  /** Called after the command exited and before the placeholders go (take the snapshot here). */
  afterRun?: (exitCode: number) => Promise<void>;
}

export interface RunInChrootResult {
  exitCode: number;
  outputTail: string;
  /** True when placeholder files were created and removed, which changes the root filesystem. */
  placeholdersRemoved?: boolean;
  /**
   * Each directory (relative to the root filesystem) that held placeholders, mapped to true when
   * its status did not change while the command ran, so the placeholders alone touched it.
   */
  placeholderParents?: Map<string, boolean>;
}

/** Host files that are bind-mounted as per-run copies, so the command's writes to them never reach the host. */
const NETWORK_FILES = ['/etc/resolv.conf', '/etc/hosts'];

/**
 * Runs `argv` in a chroot of `rootfs` with /proc, a minimal /dev, a read-only /sys and copies of the
 * host's resolv.conf and hosts, all mounted in a private mount namespace that dies with the command.
 * The working directory is created if missing, as Docker does. Mount points missing from the image
 * are created as empty placeholders and removed afterwards.
 */
export async function runInChroot(options: RunInChrootOptions): Promise<RunInChrootResult> {
  const { rootfs, identity } = options;
  const mounts: SandboxMount[] = [];
  const placeholderDirs: string[] = [];
  for (const [kind, target] of [
    ['proc', '/proc'],
    ['dev', '/dev'],
    ['sys', '/sys'],
  ] as const) {
    const hostPath = path.join(rootfs, target);
    const stats = await lstat(hostPath).catch(() => undefined);
    if (stats === undefined) {
      await mkdir(hostPath);
      placeholderDirs.push(hostPath);
      options.onWarning?.(
        `The image has no ${target}, so RUN mounts ${kind} on a directory that it removes after the command`,
      );
    } else if (!stats.isDirectory()) {
      // A symlink could point the mount at a host path, so the command runs without this mount.
      options.onWarning?.(
        `${target} in the image is ${stats.isSymbolicLink() ? 'a symlink' : 'not a directory'}, so RUN runs without ${kind} mounted there`,
      );
      continue;
    }
    mounts.push({ kind, target });
  }
  const placeholders = await prepareNetworkFiles(rootfs, options.scratchDir, mounts);

  const parentsBefore = await statusTimes(rootfs, [...placeholders, ...placeholderDirs]);
  try {
    await options.beforeRun?.(placeholders.length + placeholderDirs.length > 0);
    await mkdir(await resolveInRoot(rootfs, options.cwd), { recursive: true });
    const spec = buildChrootCommand({
      rootfs,
      argv: options.argv,
      cwd: options.cwd,
      uid: identity.uid,
      gid: identity.gid,
      groups: identity.groups,
      env: options.env,
      network: options.network ?? 'host',
      mounts: [...mounts, ...(options.extraMounts ?? [])],
    });
    const result = await spawnAndWait(spec, options);
    await options.afterRun?.(result.exitCode);
    const parentsAfter = await statusTimes(rootfs, [...placeholders, ...placeholderDirs]);
    const placeholderParents = new Map(
      [...parentsBefore].map(([dir, ctimeNs]) => [dir, parentsAfter.get(dir) === ctimeNs]),
    );
    return {
      ...result,
      placeholdersRemoved: placeholders.length + placeholderDirs.length > 0,
      placeholderParents,
    };
  } finally {
    await Promise.all(placeholders.map((p) => rm(p, { force: true })));
    // The mounts lived in the command's namespace, so these directories are empty again.
    await Promise.all(placeholderDirs.map((p) => rmdir(p)));
  }
}

/**
 * Maps the parent directory (relative to `rootfs`) of each of `paths` to its ctime in ns. Any
 * change to a directory's entries or metadata moves its ctime, and nothing can set it back.
 */
async function statusTimes(rootfs: string, paths: string[]): Promise<Map<string, bigint>> {
  const times = new Map<string, bigint>();
  for (const dir of new Set(paths.map((entry) => path.dirname(entry)))) {
    const stats = await lstat(dir, { bigint: true }).catch(() => undefined);
    if (stats !== undefined) times.set(path.relative(rootfs, dir), stats.ctimeNs);
  }
  return times;
}

/** Copies the host's network files into `scratchDir` and adds bind mounts for them; returns placeholders to remove. */
async function prepareNetworkFiles(
  rootfs: string,
  scratchDir: string,
  mounts: SandboxMount[],
): Promise<string[]> {
  const placeholders: string[] = [];
  if (!(await isRealDirectory(path.join(rootfs, 'etc')))) return placeholders;
  await mkdir(scratchDir, { recursive: true });

  for (const file of NETWORK_FILES) {
    const copy = path.join(scratchDir, path.basename(file));
    const copied = await copyFile(file, copy).then(
      () => true,
      () => false,
    );
    if (!copied) continue;

    const target = path.join(rootfs, file);
    const stats = await lstat(target).catch(() => undefined);
    if (stats === undefined) {
      await writeFile(target, '');
      placeholders.push(target);
    } else if (!stats.isFile()) {
      continue; // A symlink could point the bind mount at a host path; leave the image's entry alone.
    }
    mounts.push({ kind: 'bind', source: copy, target: file });
  }
  return placeholders;
}

async function isRealDirectory(p: string): Promise<boolean> {
  const stats = await lstat(p).catch(() => undefined);
  return stats?.isDirectory() ?? false;
}

function spawnAndWait(spec: SpawnSpec, options: RunInChrootOptions): Promise<RunInChrootResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(spec.file, spec.args, {
      env: spec.env,
      // Entry ENV_INPUT_FD (3) carries the command's environment, so no value appears in any argv.
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      ...(options.signal ? { signal: options.signal, killSignal: 'SIGKILL' as const } : {}),
    });
    const envPipe = child.stdio[ENV_INPUT_FD] as Writable | null;
    // A sandbox that fails before reading closes the pipe early, and its exit status reports that.
    envPipe?.on('error', () => {});
    envPipe?.end(spec.envInput);
    const tail = new OutputTail();
    for (const stream of ['stdout', 'stderr'] as const) {
      const output = child[stream];
      if (output === null) continue; // Not reached: both are pipes.
      output.setEncoding('utf8');
      output.on('data', (chunk: string) => {
        for (const line of tail.push(chunk)) options.onOutput?.(line, stream);
      });
    }
    child.on('error', (err) =>
      reject(
        err.name === 'AbortError'
          ? cancelledError(err)
          : new EngineError('RUN_SETUP_FAILED', `Starting ${spec.file} failed: ${err.message}`, {
              hint: 'Install util-linux (unshare, setpriv) and perl, and run kiln as root or with CAP_SYS_ADMIN.',
              cause: err,
            }),
      ),
    );
    child.on('close', (code, signal) => {
      const last = tail.flush();
      if (last !== undefined) options.onOutput?.(last, 'stdout');
      const outputTail = tail.toString();
      if (code === SANDBOX_SETUP_EXIT_CODE && outputTail.includes('kiln sandbox:')) {
        reject(
          new EngineError('RUN_SETUP_FAILED', `Setting up the RUN sandbox failed:\n${outputTail}`, {
            hint: 'RUN needs root (or CAP_SYS_ADMIN) to create a mount namespace and chroot.',
          }),
        );
        return;
      }
      resolve({ exitCode: code ?? 128 + signalNumber(signal), outputTail });
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGKILL: 9,
    SIGTERM: 15,
  };
  return (signal && numbers[signal]) ?? 0;
}
