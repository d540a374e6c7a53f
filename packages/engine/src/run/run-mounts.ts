import { execFile } from 'node:child_process';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunMount } from '@kiln/dockerfile-parser';
import { EngineError } from '../errors.js';
import { resolveInRoot, splitPath } from '../util/rootfs-path.js';
import type { SandboxMount } from './chroot-command.js';
import { claimPrivateCacheDir, lockCacheDir, useCacheDir } from './cache-mount-lock.js';
import { forwardAgent, openSshAgent } from './ssh-agent.js';
import type { SshAgentPool, SshSource } from './ssh-agent.js';

const run = promisify(execFile);

/** Source of a secret's value: a file, or an environment variable of the kiln process. */
export type SecretSource = { src: string } | { env: string };

export interface RunMountContext {
  rootfs: string;
  /** Working directory of the RUN, for relative targets. */
  cwd: string;
  /** Directory that keeps cache mounts between builds. */
  cacheDir: string;
  /** Stops waiting for a `sharing=locked` cache mount. */
  signal?: AbortSignal | undefined;
  /** Scratch directory of this build, for secret files and copies of writable binds. */
  scratchDir: string;
  secrets: Readonly<Record<string, SecretSource>>;
  /** SSH agents for `type=ssh` mounts, by id (`docker build --ssh`). */
  ssh?: readonly SshSource[] | undefined;
  /** The build's agents, which outlive this RUN; without it each RUN starts and stops its own. */
  sshAgents?: SshAgentPool | undefined;
  /** Root of a bind mount's source: the build context, or a stage or image for `from`. */
  sourceRoot(from: string | undefined): Promise<string>;
}

export interface PreparedRunMounts {
  mounts: SandboxMount[];
  /** `NAME=value` entries for secrets mounted with `env=`. */
  env: string[];
  /** Path of the first `type=ssh` mount inside the root, which SSH_AUTH_SOCK names unless Env sets it. */
  sshAuthSock?: string;
  /** True when mount points were created in the root filesystem (and are removed by `cleanup`). */
  changedRootfs: boolean;
  cleanup(): Promise<void>;
}

/**
 * Prepares the `RUN --mount` options: cache directories kept under `cacheDir` by id, secrets from
 * files or environment variables (read-only, never in a layer), tmpfs, and read-only binds of the
 * context or a stage. Missing mount points are created in the root filesystem before the snapshot
 * baseline and removed by `cleanup`, so none of them reaches a layer.
 */
export async function prepareRunMounts(
  specs: readonly RunMount[],
  context: RunMountContext,
): Promise<PreparedRunMounts> {
  const created: Array<{ hostPath: string; directory: boolean }> = [];
  const temporary: string[] = [];
  const mounts: SandboxMount[] = [];
  const env: string[] = [];
  let sshCount = 0;
  let sshAuthSock: string | undefined;

  const releases: Array<() => Promise<void>> = [];

  const cleanup = async (): Promise<void> => {
    for (const release of releases.splice(0).reverse()) await release();
    for (const entry of created.reverse()) {
      if (entry.directory) await rmdir(entry.hostPath).catch(() => undefined);
      else await rm(entry.hostPath, { force: true });
    }
    await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
  };

  try {
    for (const spec of specs) {
      if (spec.type === 'ssh') {
        // BuildKit numbers default targets by the mount's place among the RUN's ssh mounts, and
        // sets SSH_AUTH_SOCK to the first one (client/llb/exec.go, ExecOp marshal).
        const target = spec.target ?? `/run/buildkit/ssh_agent.${sshCount}`;
        sshCount += 1;
        sshAuthSock ??= path.posix.resolve('/', context.cwd, target);
        const id = spec.id ?? 'default';
        const source = context.ssh?.find((candidate) => candidate.id === id);
        if (source === undefined) {
          if (!spec.required) continue;
          throw new EngineError(
            'INVALID_OPTION',
            `RUN needs the SSH agent "${id}", which was not given`,
            {
              hint: `Pass it with --ssh ${id === 'default' ? 'default' : `${id}=SOCKET_OR_KEY_FILE`}.`,
            },
          );
        }
        const agentSocket = await openAgentSocket(source, context, releases);
        const forwarder = await forwardAgent(
          agentSocket,
          { uid: spec.uid ?? 0, gid: spec.gid ?? 0, mode: spec.mode ?? 0o600 },
          context.scratchDir,
        );
        releases.push(() => forwarder.close());
        const mountTarget = await mountPoint(context, target, false, created);
        mounts.push({ kind: 'bind', source: forwarder.socket, target: mountTarget });
        continue;
      }
      if (spec.type === 'secret') {
        const secret = await readSecret(spec, context);
        if (secret === undefined) continue;
        if (spec.env !== undefined) env.push(`${spec.env}=${secret.toString('utf8')}`);
        if (spec.env !== undefined && spec.target === undefined) continue;
        const dir = await mkdtemp(path.join(context.scratchDir, 'secret-'));
        temporary.push(dir);
        const file = path.join(dir, 'value');
        await writeFile(file, secret, { mode: 0o400 });
        await chmod(file, spec.mode ?? 0o400);
        await chown(file, spec.uid ?? 0, spec.gid ?? 0);
        const target = await mountPoint(
          context,
          spec.target ?? `/run/secrets/${spec.id}`,
          false,
          created,
        );
        mounts.push({ kind: 'bind', source: file, target, readOnly: true });
        continue;
      }

      if (spec.target === undefined)
        throw unsupported(`RUN --mount=type=${spec.type} needs a target`);
      // A bind of a single file (`source=go.sum,target=go.sum`) needs a file as its mount point.
      const bindSource =
        spec.type === 'bind'
          ? await resolveInRoot(await context.sourceRoot(spec.from), spec.source ?? '/')
          : undefined;
      const bindsFile =
        bindSource !== undefined &&
        (await stat(bindSource)
          .then((stats) => !stats.isDirectory())
          .catch(() => false));
      const target = await mountPoint(context, spec.target, !bindsFile, created);
      if (spec.type === 'tmpfs') {
        mounts.push({ kind: 'tmpfs', target });
      } else if (spec.type === 'cache') {
        const id = spec.id ?? spec.target;
        let source = path.join(context.cacheDir, encodeURIComponent(id));
        if (spec.sharing === 'private') {
          // A private cache in use gives this RUN another instance, kept for later builds.
          const claimed = claimPrivateCacheDir(source);
          releases.push(async () => claimed.release());
          source = claimed.dir;
        } else {
          if (spec.sharing === 'locked') releases.push(await lockCacheDir(source, context.signal));
          const release = useCacheDir(source);
          releases.push(async () => release());
        }
        await mkdir(source, { recursive: true, mode: spec.mode ?? 0o755 });
        await chown(source, spec.uid ?? 0, spec.gid ?? 0);
        mounts.push({ kind: 'bind', source, target, readOnly: spec.readonly });
      } else if (bindSource !== undefined) {
        if (spec.readonly) {
          mounts.push({ kind: 'bind', source: bindSource, target, readOnly: true });
        } else {
          // A writable bind gets a copy, so the command's writes never reach the context or the stage.
          const copy = await mkdtemp(path.join(context.scratchDir, 'bind-'));
          temporary.push(copy);
          if (bindsFile) {
            const file = path.join(copy, 'file');
            await run('cp', ['-a', bindSource, file]);
            mounts.push({ kind: 'bind', source: file, target });
          } else {
            await run('cp', ['-a', `${bindSource}/.`, copy]);
            mounts.push({ kind: 'bind', source: copy, target });
          }
        }
      }
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    mounts,
    env,
    ...(sshAuthSock === undefined ? {} : { sshAuthSock }),
    changedRootfs: created.length > 0,
    cleanup,
  };
}

/** Returns the agent socket of `source`, from the build's pool or from an agent for this RUN alone. */
async function openAgentSocket(
  source: SshSource,
  context: RunMountContext,
  releases: Array<() => Promise<void>>,
): Promise<string> {
  if (context.sshAgents !== undefined) return context.sshAgents.socket(source);
  const agent = await openSshAgent(source, context.scratchDir);
  releases.push(() => agent.close());
  return agent.socket;
}

function unsupported(message: string): EngineError {
  return new EngineError('UNSUPPORTED_INSTRUCTION', message, {
    hint: 'Rewrite the RUN without this mount.',
  });
}

async function readSecret(spec: RunMount, context: RunMountContext): Promise<Buffer | undefined> {
  const id = spec.id ?? (spec.target ? path.posix.basename(spec.target) : undefined);
  const source = id === undefined ? undefined : context.secrets[id];
  if (source === undefined) {
    if (spec.required) {
      throw new EngineError(
        'INVALID_OPTION',
        `RUN needs the secret "${id ?? ''}", which was not given`,
        {
          hint: `Pass it with --secret id=${id ?? 'ID'},src=FILE or --secret id=${id ?? 'ID'},env=VARIABLE.`,
        },
      );
    }
    return undefined;
  }
  if ('src' in source) return readFile(source.src);
  const value = process.env[source.env];
  if (value === undefined) {
    throw new EngineError(
      'INVALID_OPTION',
      `The environment variable ${source.env} for secret "${id}" is not set`,
      {
        hint: `Set ${source.env} before the build, or give the secret with src=FILE.`,
      },
    );
  }
  return Buffer.from(value);
}

/**
 * Creates the mount point `target` (a directory, or an empty file for a secret) in the root
 * filesystem where it is missing, recording what it created. Returns the target with symlinks
 * resolved inside the root, so the mount never follows a link to a host path.
 */
async function mountPoint(
  context: RunMountContext,
  target: string,
  directory: boolean,
  created: Array<{ hostPath: string; directory: boolean }>,
): Promise<string> {
  const absolute = path.posix.resolve('/', context.cwd, target);
  const parts = splitPath(absolute);
  let current = '/';
  for (const [index, part] of parts.entries()) {
    current = path.posix.join(current, part);
    const hostPath = await resolveInRoot(context.rootfs, current);
    const stats = await lstat(hostPath).catch(() => undefined);
    if (stats) continue;
    const isLast = index === parts.length - 1;
    if (isLast && !directory) await writeFile(hostPath, '');
    else await mkdir(hostPath);
    created.push({ hostPath, directory: !isLast || directory });
  }
  const resolved = await resolveInRoot(context.rootfs, absolute);
  return `/${path.relative(context.rootfs, resolved).split(path.sep).join('/')}`;
}
