import { spawn } from 'node:child_process';
import { access, constants, mkdir } from 'node:fs/promises';
import os from 'node:os';
import type { RunExecutor, RunRequest, RunResult } from '@kiln/plugin-api';
import { EngineError, cancelledError } from '../errors.js';
import { OutputTail } from '../run/output-tail.js';
import { resolveIdentityInRoot } from '../run/users.js';
import { resolveInRoot } from '../util/rootfs-path.js';
import { changedKeptPaths, readKeptTimes } from './kept-changes.js';

/** Kept paths that RUN should not change, and what to do when a command changed some. */
export interface KeptPathWatch {
  paths: readonly string[];
  onChanged(paths: string[]): void;
}

/** Exit status of kiln-setid when setting the ids fails, before the command starts. */
const SETID_FAILED_EXIT_CODE = 125;

/**
 * Creates the RUN executor of `--isolation=none`: the command runs on `/` itself, with no chroot and
 * no namespaces, as the USER's uid, gid and supplementary groups from the image's own account files.
 * `setidHelper` is the static kiln-setid program that sets the ids and executes the command, because
 * Node's spawn drops supplementary groups. The command's environment goes to execve, never into argv.
 * With `watch`, the top level of the kept paths is compared before and after each command, because
 * what a command writes there reaches the container's files but never the image.
 */
export function createNoneExecutor(setidHelper: string, watch?: KeptPathWatch): RunExecutor {
  return {
    name: 'none',
    async run(request: RunRequest): Promise<RunResult> {
      rejectUnsupported(request);
      await access(setidHelper, constants.X_OK).catch((error: unknown) => {
        throw new EngineError(
          'RUN_SETUP_FAILED',
          `The RUN helper ${setidHelper} of --isolation=none is missing or not executable`,
          {
            hint: 'Use the kiln executor image, or build kiln-setid.c from examples/executor-image into <KILN_DIR>/bin.',
            cause: error,
          },
        );
      });
      const identity = await resolveIdentityInRoot(request.rootfs, request.user);
      // Docker creates a missing working directory; it is part of the RUN's layer, as with chroot.
      const cwd = await resolveInRoot(request.rootfs, request.cwd);
      await mkdir(cwd, { recursive: true });
      const args = [
        String(identity.uid),
        String(identity.gid),
        identity.groups.join(','),
        '--',
        ...request.argv,
      ];
      const before = watch === undefined ? undefined : await readKeptTimes(watch.paths);
      const result = await spawnCommand(setidHelper, args, cwd, environment(request.env), request);
      if (watch !== undefined && before !== undefined) {
        const changed = changedKeptPaths(watch.paths, before, await readKeptTimes(watch.paths));
        if (changed.length > 0) watch.onChanged(changed);
      }
      return result;
    },
  };
}

/** RUN options that need mount or network privileges, which this mode does not use. */
function rejectUnsupported(request: RunRequest): void {
  const mount = request.mounts[0];
  if (mount !== undefined) {
    throw new EngineError(
      'UNSUPPORTED_INSTRUCTION',
      `RUN --mount (a ${mount.type} mount at ${mount.target}) is not supported with --isolation=none`,
      {
        hint: 'Use --isolation=chroot for RUN --mount, or only secrets with env= and no target.',
      },
    );
  }
  if (request.network === 'none') {
    throw new EngineError(
      'UNSUPPORTED_INSTRUCTION',
      'RUN --network=none is not supported with --isolation=none, which creates no network namespace',
      { hint: 'Use --isolation=chroot, or drop --network=none from the RUN.' },
    );
  }
}

function environment(entries: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

function spawnCommand(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  request: RunRequest,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (request.signal.aborted) {
      reject(cancelledError(request.signal.reason));
      return;
    }
    // A process group of its own, so cancelling kills the command's children too.
    // NOTE: a command outlives a kiln that dies without cancelling. Where kiln is the
    // container's PID 1, the kernel ends the command with the container.
    const child = spawn(file, args, {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const onAbort = (): void => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    };
    request.signal.addEventListener('abort', onAbort, { once: true });

    const tail = new OutputTail();
    const streams = { stdout: new OutputTail(), stderr: new OutputTail() };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name].setEncoding('utf8');
      child[name].on('data', (chunk: string) => {
        for (const line of streams[name].push(chunk)) {
          tail.push(`${line}\n`);
          request.onOutput(name, line);
        }
      });
    }
    child.on('error', (error) => {
      request.signal.removeEventListener('abort', onAbort);
      reject(
        new EngineError('RUN_SETUP_FAILED', `Starting ${file} failed: ${error.message}`, {
          hint: 'Check that the RUN helper is a static executable under KILN_DIR.',
          cause: error,
        }),
      );
    });
    child.on('close', (code, signal) => {
      request.signal.removeEventListener('abort', onAbort);
      for (const name of ['stdout', 'stderr'] as const) {
        const last = streams[name].flush();
        if (last === undefined) continue;
        tail.push(`${last}\n`);
        request.onOutput(name, last);
      }
      if (request.signal.aborted) {
        reject(cancelledError(request.signal.reason));
        return;
      }
      const output = tail.toString();
      if (code === SETID_FAILED_EXIT_CODE && output.includes('kiln-setid:')) {
        reject(
          new EngineError('RUN_SETUP_FAILED', `Setting the RUN user's ids failed:\n${output}`, {
            hint: 'kiln needs root (CAP_SETUID and CAP_SETGID) to run RUN as another user.',
          }),
        );
        return;
      }
      resolve(
        signal === null
          ? { exitCode: code ?? 1 }
          : { exitCode: 128 + signalNumber(signal), signal },
      );
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return os.constants.signals[signal] ?? 0;
}
