import { constants } from 'node:fs';
import { access, rmdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { EngineError } from '../errors.js';
import type { BuildOptions } from '../options.js';
import { ensureDirectory } from '../util/ensure-dir.js';

/**
 * Checks every local output path before the build starts, so a typo fails in a second.
 * Each parent directory must be creatable and writable, `--tar-path` must not be a directory, and
 * `--oci-layout-path` must be a directory or absent. Missing parents are created, because writing
 * the output creates them anyway.
 */
export async function checkOutputPaths(options: BuildOptions): Promise<void> {
  const files: Array<[string, string | undefined]> = [
    ['--tar-path', options.tarPath],
    ['--digest-file', options.digestFile],
    ['--image-name-with-digest-file', options.imageNameWithDigestFile],
    ['--image-name-tag-with-digest-file', options.imageNameTagWithDigestFile],
  ];
  for (const [flag, file] of files) {
    if (!file) continue;
    const info = await statOrUndefined(path.resolve(file));
    if (info?.isDirectory())
      throw outputError(
        `${flag} ${file} is a directory: give a file path`,
        'Give the path of the tarball to write, for example out/image.tar.',
      );
    await checkParent(flag, file);
  }
  if (options.ociLayoutPath) {
    const dir = options.ociLayoutPath;
    const info = await statOrUndefined(path.resolve(dir));
    if (info && !info.isDirectory())
      throw outputError(
        `--oci-layout-path ${dir} is not a directory: give a directory path`,
        'Point it at a directory, an existing OCI layout or a path that does not exist yet.',
      );
    if (info) await checkWritable('--oci-layout-path', dir, path.resolve(dir));
    else {
      // Only creating the directory proves it can be written, because root passes access() even on
      // /proc. The test directory is removed at once.
      await checkParent('--oci-layout-path', dir, path.resolve(dir));
      await rmdir(path.resolve(dir));
    }
  }
}

/** Wraps a failure to write `target` (given as `flag`) so the message names the path and the reason. */
export function outputFailed(flag: string, target: string, error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  return outputError(
    `Writing ${flag} ${target} failed: ${reason(error)}`,
    'Check that the path is on a writable file system with free space.',
    error,
  );
}

async function checkParent(
  flag: string,
  target: string,
  parent = path.dirname(path.resolve(target)),
): Promise<void> {
  try {
    await ensureDirectory(parent);
  } catch (error) {
    throw outputError(
      `${flag} ${target}: cannot create directory ${parent}: ${reason(error)}`,
      'Give a path under an existing, writable directory.',
      error,
    );
  }
  await checkWritable(flag, target, parent);
}

async function checkWritable(flag: string, target: string, dir: string): Promise<void> {
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw outputError(
      `${flag} ${target}: directory ${dir} is not writable: ${reason(error)}`,
      'Give a path in a directory you can write to.',
      error,
    );
  }
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  return stat(file).catch(() => undefined);
}

function reason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  // Node's message ends with the path, often a temp file's; the code and reason suffice.
  return code ? (message.split(',')[0] ?? code) : String(message);
}

function outputError(message: string, hint: string, cause?: unknown): EngineError {
  return new EngineError('OUTPUT_FAILED', message, { hint, cause });
}
