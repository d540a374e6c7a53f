import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ParsedDockerfile } from '@kiln/dockerfile-parser';
import { isGitLocation } from '../context/git-context.js';
import { EngineError } from '../errors.js';
import type { BuildOptions } from '../options.js';

const CHROOT_ALTERNATIVE =
  'use --isolation=chroot, where git, ssh-agent and ssh-add of the executor image stay available.';

/**
 * Raises INVALID_OPTION for inputs that `--isolation=none` cannot serve, before anything starts:
 * `--ssh` and a git context need ssh-agent, ssh-add or git from `/usr`, which the first stage
 * empties. A local context that is `/` or contains `kilnDir` would be kept whole, so `/` would
 * not be emptied and `COPY .` would read kiln's own files.
 */
export async function rejectNoneInputs(options: BuildOptions, kilnDir: string): Promise<void> {
  if (options.ssh !== undefined && options.ssh.length > 0) {
    throw new EngineError(
      'INVALID_OPTION',
      `--ssh ${options.ssh[0]?.id ?? ''} cannot be used with --isolation=none, because ssh-agent and ssh-add are removed with the rest of / before the first stage`,
      { hint: `Leave out --ssh, or ${CHROOT_ALTERNATIVE}` },
    );
  }
  if (isGitLocation(options.context)) {
    throw new EngineError(
      'INVALID_OPTION',
      `The git context --context ${options.context} cannot be used with --isolation=none, because git is removed with the rest of / before the first stage`,
      {
        hint: `Clone the repository first and pass its directory as --context, or ${CHROOT_ALTERNATIVE}`,
      },
    );
  }
  await rejectRootContext(options, kilnDir);
}

/** Raises INVALID_OPTION for a local context directory that is `/` or contains `kilnDir`. */
async function rejectRootContext(options: BuildOptions, kilnDir: string): Promise<void> {
  // Only local directories: `-` is a tar on stdin and a URL is fetched into the work dir.
  if (options.context === '-' || /^[a-z][a-z0-9+.-]*:\/\//i.test(options.context)) return;
  const directory = path.resolve(options.context, options.contextSubPath ?? '');
  const real = await realpath(directory).catch(() => directory);
  const realKilnDir = await realpath(kilnDir).catch(() => kilnDir);
  // A bind mount of / elsewhere has another path but the same device and inode.
  const sameAsRoot = await Promise.all([stat(real), stat('/')]).then(
    ([context, root]) => context.dev === root.dev && context.ino === root.ino,
    () => false,
  );
  const containsKiln = realKilnDir === real || realKilnDir.startsWith(`${real}/`);
  if (real !== '/' && !sameAsRoot && !containsKiln) return;
  throw new EngineError(
    'INVALID_OPTION',
    `The context ${directory} is / or contains kiln's directory ${kilnDir}, which --isolation=none cannot build from: the context is kept on /, so / would not be emptied`,
    {
      hint: 'Pass the directory with the Dockerfile and its files as --context (for example /workspace), outside KILN_DIR.',
    },
  );
}

/**
 * Raises UNSUPPORTED_INSTRUCTION for an `ADD` of a git repository, which needs git from `/usr`.
 * Call it once the Dockerfile is parsed, before the first stage empties `/`.
 * It reads the instructions before variables are expanded, so {@link rejectGitSourceOnRoot} checks
 * `ADD $REPO` when it runs.
 */
export function rejectNoneGitSources(parsed: ParsedDockerfile): void {
  for (const stage of parsed.stages) {
    for (const instruction of stage.instructions) {
      if (instruction.kind !== 'add') continue;
      const source = instruction.sources.find(isGitLocation);
      if (source !== undefined) throw noneGitSourceError(source, instruction.location.startLine);
    }
  }
}

/** Creates the UNSUPPORTED_INSTRUCTION error for `ADD source` of a git repository on line `line`. */
export function noneGitSourceError(source: string, line: number): EngineError {
  return new EngineError(
    'UNSUPPORTED_INSTRUCTION',
    `ADD ${source} (line ${line}) cannot run with --isolation=none, because git is removed with the rest of / before the first stage`,
    { hint: `Clone the repository into the context and COPY it, or ${CHROOT_ALTERNATIVE}` },
  );
}
