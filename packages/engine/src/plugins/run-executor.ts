import type { ChangeSet } from '@kiln/layer-writer';
import type { RunExecutor, RunMountSpec, RunRequest } from '@kiln/plugin-api';
import type { SandboxMount } from '../run/chroot-command.js';
import { EngineError } from '../errors.js';
import type { StageRun } from '../stage/stage-run.js';
import { pluginFailure } from './plugin-failure.js';
import type { BuildPlugins } from './build-plugins.js';

/** A RUN executor a plugin created for `--executor NAME`, with the plugin's name for errors. */
export interface SelectedExecutor {
  plugin: string;
  executor: RunExecutor;
}

/**
 * Creates the executor that `name` selects, after its `probe()` reports it available. Returns
 * undefined for the built-in `chroot` (or no name), which RUN uses directly.
 */
export async function selectExecutor(
  plugins: BuildPlugins,
  name: string | undefined,
  options: Readonly<Record<string, string>>,
): Promise<SelectedExecutor | undefined> {
  if (name === undefined || name === 'chroot') return undefined;
  const provided = plugins.set.executors.get(name);
  if (provided === undefined) {
    const known = ['chroot', ...plugins.set.executors.keys()];
    throw new EngineError('INVALID_OPTION', `Unknown executor ${name}`, {
      hint: `Executors: ${known.join(', ')}. Load a plugin that provides ${name} with --plugin.`,
    });
  }
  const plugin = provided.plugin.name;
  try {
    const probe = await provided.value.probe();
    if (!probe.available) {
      throw new EngineError(
        'PLUGIN_FAILED',
        `Executor ${name} of plugin ${plugin} is not available: ${probe.reason}`,
        {
          hint: 'Fix what the reason names, or build with the chroot executor.',
        },
      );
    }
    const executor = await provided.value.create({ logger: plugins.logger(plugin), options });
    return { plugin, executor };
  } catch (error) {
    throw pluginFailure(plugin, `starting the executor ${name}`, error);
  }
}

/**
 * Runs one RUN command through a plugin executor and returns what it changed in the root
 * filesystem, or undefined when the command failed. The snapshot baseline is taken before it.
 */
export async function runWithExecutor(
  selected: SelectedExecutor,
  run: StageRun,
  request: Omit<RunRequest, 'rootfs' | 'mounts'> & { mounts: readonly SandboxMount[] },
): Promise<{ exitCode: number; changes: ChangeSet | undefined }> {
  if (!run.baselineCurrent) {
    await run.snapshotter.init();
    run.baselineCurrent = true;
  }
  let exitCode: number;
  try {
    const result = await selected.executor.run({
      ...request,
      rootfs: run.rootfs,
      mounts: request.mounts.flatMap(toRunMount),
    });
    exitCode = result.exitCode;
  } catch (error) {
    if (request.signal.aborted) throw error;
    throw pluginFailure(
      selected.plugin,
      `running ${request.argv.join(' ')} with the executor ${selected.executor.name}`,
      error,
    );
  }
  if (exitCode !== 0) return { exitCode, changes: undefined };
  return { exitCode, changes: await run.snapshotter.changes() };
}

function toRunMount(mount: SandboxMount): RunMountSpec[] {
  if (mount.kind === 'bind') {
    return [
      {
        type: 'bind',
        source: mount.source,
        target: mount.target,
        readOnly: mount.readOnly ?? false,
      },
    ];
  }
  if (mount.kind === 'tmpfs') return [{ type: 'tmpfs', target: mount.target, readOnly: false }];
  // proc, sys and dev are the sandbox's own mounts; an executor provides its own.
  return [];
}
