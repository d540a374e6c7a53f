import path from 'node:path';
import type { RunInstruction } from '@kiln/dockerfile-parser';
import type { ChangeSet } from '@kiln/layer-writer';
import { filteredContextView } from '../context/context-view.js';
import { EngineError, RunFailedError } from '../errors.js';
import { runEnvironment, splitEnvEntry } from '../stage/environment.js';
import { commandArgv } from '../stage/metadata-instructions.js';
import type { BuildServices, StageRun } from '../stage/stage-run.js';
import { stageIndexOf } from '../stage/stage-run.js';
import { runWithExecutor } from '../plugins/run-executor.js';
import { OutputTail } from './output-tail.js';
import {
  SCRIPT_DIR,
  SINGLE_HEREDOC,
  prepareShebangScript,
  shebangScript,
} from './heredoc-script.js';
import { runInChroot } from './run-in-chroot.js';
import { prepareRunMounts } from './run-mounts.js';
import { resolveIdentityInRoot } from './users.js';

/** Returns the text that names a RUN in history and errors: `/bin/sh -c CMD` or the exec argv. */
export function runCommandText(instruction: RunInstruction, shell: readonly string[]): string {
  return instruction.command.form === 'exec'
    ? JSON.stringify(instruction.command.args)
    : runArgv(instruction, shell).join(' ');
}

/**
 * Returns the argv of a RUN. With here-documents it follows BuildKit: a command that is only
 * `<<EOF` runs the body with the shell (or, for a `#!` body, the body as a script file at
 * /dev/pipes/EOF), and any other command gets the bodies and delimiters
 * appended so the shell reads the here-documents itself.
 */
export function runArgv(instruction: RunInstruction, shell: readonly string[]): string[] {
  const { command, heredocs } = instruction;
  if (heredocs.length === 0 || command.form === 'exec') return commandArgv(command, shell);

  const first = heredocs[0] as (typeof heredocs)[number];
  if (SINGLE_HEREDOC.test(command.command.trim())) {
    // A #! body runs as a file (see prepareShebangScript), through the shell as BuildKit does.
    if (shebangScript(instruction)) return [...shell, `${SCRIPT_DIR}/${first.name}`];
    return [...shell, first.content];
  }
  let script = command.command;
  for (const file of heredocs) script += `\n${file.content}${file.name}`;
  return [...shell, script];
}

/**
 * Runs a RUN instruction in a chroot of the stage's root filesystem and returns what it changed.
 * A non-zero exit fails the build with the command, its exit code and its last output lines.
 */
export async function executeRun(
  run: StageRun,
  instruction: RunInstruction,
  services: BuildServices,
  step: number,
): Promise<ChangeSet> {
  rejectUnsupportedFlags(instruction);
  const config = run.meta.config;
  const identity = await resolveIdentityInRoot(run.rootfs, config.User ?? '');
  const env = runEnvironment(config.Env ?? [], run.args);
  if (!env.some((entry) => splitEnvEntry(entry)[0] === 'HOME')) env.push(`HOME=${identity.home}`);

  const cwd = config.WorkingDir || '/';
  const prepared = await prepareRunMounts(instruction.mounts, {
    rootfs: run.rootfs,
    cwd,
    cacheDir: services.cacheMountDir,
    scratchDir: services.scratchDir,
    secrets: services.secrets,
    ssh: services.ssh,
    sshAgents: services.sshAgents,
    signal: services.signal,
    sourceRoot: (from) => mountSourceRoot(from, services),
  });
  if (
    prepared.sshAuthSock !== undefined &&
    !env.some((entry) => splitEnvEntry(entry)[0] === 'SSH_AUTH_SOCK')
  )
    env.push(`SSH_AUTH_SOCK=${prepared.sshAuthSock}`);
  // Mount points created in the root filesystem are removed after the snapshot, which changes the tree.
  if (prepared.changedRootfs) run.baselineCurrent = false;
  const script = await prepareShebangScript(instruction, path.join(services.scratchDir, 'run'));
  prepared.mounts.push(...script.mounts);
  const cleanupMounts = prepared.cleanup;
  prepared.cleanup = async () => {
    await cleanupMounts();
    await script.cleanup();
  };

  if (services.runExecutor) {
    const tail = new OutputTail();
    const outcome = await runWithExecutor(services.runExecutor, run, {
      argv: runArgv(instruction, run.meta.shell),
      env: [...env, ...prepared.env],
      cwd,
      user: config.User ?? '',
      mounts: prepared.mounts,
      network: instruction.network ?? 'default',
      onOutput: (stream, line) => {
        tail.push(`${line}\n`);
        services.emit({ type: 'step-output', stage: run.index, step, line, stream });
      },
      signal: services.signal ?? new AbortController().signal,
    }).finally(() => prepared.cleanup());
    if (prepared.changedRootfs) run.baselineCurrent = false;
    if (outcome.changes === undefined) {
      throw new RunFailedError(
        runCommandText(instruction, run.meta.shell),
        outcome.exitCode,
        tail.toString(),
      );
    }
    return outcome.changes;
  }

  let changes: ChangeSet | undefined;
  const result = await runInChroot({
    rootfs: run.rootfs,
    argv: runArgv(instruction, run.meta.shell),
    env: [...env, ...prepared.env],
    extraMounts: prepared.mounts,
    cwd,
    identity,
    network: instruction.network === 'none' ? 'none' : 'host',
    ...(services.signal ? { signal: services.signal } : {}),
    scratchDir: path.join(services.scratchDir, 'run'),
    onOutput: (line, stream) =>
      services.emit({ type: 'step-output', stage: run.index, step, line, stream }),
    onWarning: (message) =>
      services.emit({
        type: 'warning',
        message,
        file: instruction.location.file,
        line: instruction.location.startLine,
      }),
    beforeRun: async (placeholdersCreated) => {
      // The walk snapshotter's baseline lists placeholders as unchanged only if taken after them.
      if (run.baselineCurrent && !placeholdersCreated) return;
      await run.snapshotter.init();
      run.baselineCurrent = true;
    },
    afterRun: async (exitCode) => {
      if (exitCode !== 0) return;
      changes = await run.snapshotter.changes();
    },
  }).finally(() => prepared.cleanup());
  if (result.placeholdersRemoved || prepared.changedRootfs) run.baselineCurrent = false;
  if (run.stageSnapshotter) recordPlaceholderDirs(run, result.placeholderParents);
  if (result.exitCode !== 0 || changes === undefined) {
    throw new RunFailedError(
      runCommandText(instruction, run.meta.shell),
      result.exitCode,
      result.outputTail,
    );
  }
  return changes;
}

/** Returns the root of a RUN --mount=type=bind source: the context, a built stage, or an image. */
// One filtered view of the context per build, made when the first RUN binds the context.
const contextViews = new WeakMap<BuildServices, Promise<string>>();

async function mountSourceRoot(from: string | undefined, services: BuildServices): Promise<string> {
  if (from === undefined) {
    let view = contextViews.get(services);
    if (view === undefined) {
      view = filteredContextView(services.context, path.join(services.scratchDir, 'context-view'));
      contextViews.set(services, view);
    }
    return view;
  }
  const index = stageIndexOf(from, services.stageNames);
  if (index === undefined) return services.imageRootfs(from);
  const stage = services.stages.get(index);
  if (!stage) {
    throw new EngineError(
      'UNKNOWN_STAGE',
      `RUN --mount from=${from} names no stage built before this one`,
      {
        hint: 'Name a stage defined above this one, its index, or an image reference.',
      },
    );
  }
  return stage.rootfs;
}

function rejectUnsupportedFlags(instruction: RunInstruction): void {
  const unsupported: string[] = [];
  if (instruction.security === 'insecure') unsupported.push('--security=insecure');
  if (unsupported.length > 0) {
    throw new EngineError(
      'UNSUPPORTED_INSTRUCTION',
      `RUN with ${unsupported.join(', ')} is not supported yet`,
      {
        hint: 'Rewrite the RUN without these features.',
      },
    );
  }
}

/** Records for `--single-snapshot` the directories that held placeholders, and which a command changed. */
function recordPlaceholderDirs(run: StageRun, parents: Map<string, boolean> | undefined): void {
  run.placeholderDirs ??= new Map();
  for (const [dir, onlyPlaceholders] of parents ?? []) {
    run.placeholderDirs.set(dir, (run.placeholderDirs.get(dir) ?? true) && onlyPlaceholders);
  }
}
