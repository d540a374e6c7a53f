import type { RunExecutor, RunRequest, RunResult } from '@kiln/plugin-api';
import { EngineError } from '../errors.js';
import type { SandboxMount } from '../run/chroot-command.js';
import { runInChroot } from '../run/run-in-chroot.js';
import { resolveIdentityInRoot } from '../run/users.js';

/** Creates the built-in chroot sandbox of RUN, behind the plugin API's executor interface. */
export function createChrootExecutor(scratchDir: string): RunExecutor {
  return {
    name: 'chroot',
    async run(request: RunRequest): Promise<RunResult> {
      const identity = await resolveIdentityInRoot(request.rootfs, request.user || 'root');
      const result = await runInChroot({
        rootfs: request.rootfs,
        argv: request.argv,
        env: request.env,
        cwd: request.cwd,
        identity,
        extraMounts: request.mounts.map(toSandboxMount),
        signal: request.signal,
        network: request.network === 'none' ? 'none' : 'host',
        scratchDir,
        onOutput: (line, stream) => request.onOutput(stream, line),
      });
      return { exitCode: result.exitCode };
    },
  };
}

function toSandboxMount(mount: RunRequest['mounts'][number]): SandboxMount {
  if (mount.type === 'tmpfs') return { kind: 'tmpfs', target: mount.target };
  if (mount.source === undefined || mount.source === '') {
    throw new EngineError(
      'RUN_SETUP_FAILED',
      `A ${mount.type} mount at ${mount.target} has no source`,
      {
        hint: 'Give bind and cache mounts a host directory as source.',
      },
    );
  }
  return { kind: 'bind', source: mount.source, target: mount.target, readOnly: mount.readOnly };
}
