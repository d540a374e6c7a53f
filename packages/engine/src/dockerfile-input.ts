import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DockerfileParseError, parseDockerfile } from '@kiln/dockerfile-parser';
import type { ParseOptions, ParsedDockerfile } from '@kiln/dockerfile-parser';
import type { Platform } from '@kiln/oci-spec';
import { EngineError } from './errors.js';
import type { BuildOptions } from './options.js';

/** Finds and reads the Dockerfile; a relative path is tried against the working directory, then the context. */
export async function readDockerfile(
  options: BuildOptions,
): Promise<{ file: string; text: string }> {
  const contextDir = path.resolve(options.context);
  const contextStats = await stat(contextDir).catch(() => undefined);
  if (!contextStats?.isDirectory()) {
    const problem = contextStats === undefined ? 'does not exist' : 'is not a directory';
    throw new EngineError('CONTEXT_NOT_FOUND', `Build context ${options.context} ${problem}`, {
      hint: 'Pass an existing directory with --context.',
    });
  }
  const candidates =
    options.dockerfile === undefined
      ? [path.join(contextDir, 'Dockerfile')]
      : path.isAbsolute(options.dockerfile)
        ? [options.dockerfile]
        : [path.resolve(options.dockerfile), path.join(contextDir, options.dockerfile)];

  for (const file of candidates) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return { file, text };
  }
  throw new EngineError(
    'DOCKERFILE_NOT_FOUND',
    `Dockerfile not found at ${candidates.join(' or ')}`,
    {
      hint: 'Pass the Dockerfile with --dockerfile, or put a file named Dockerfile in the context.',
    },
  );
}

/** Parses the Dockerfile; a syntax error carries the lines around it in its message. */
export function parseDockerfileText(
  options: BuildOptions,
  dockerfile: { file: string; text: string },
  platform: Platform,
): ParsedDockerfile {
  try {
    return parseDockerfile(dockerfile.text, dockerfileParseOptions(options, dockerfile, platform));
  } catch (error) {
    if (error instanceof DockerfileParseError && error.snippet)
      error.message = `${error.message}\n${error.snippet}`;
    throw error;
  }
}

/** Parser options of a build: build args, target, platform and the Dockerfile's base name. */
export function dockerfileParseOptions(
  options: BuildOptions,
  dockerfile: { file: string },
  platform: Platform,
): ParseOptions & { fileName: string } {
  return {
    buildArgs: options.buildArgs ?? {},
    ...(options.target === undefined ? {} : { target: options.target }),
    platform: {
      os: platform.os,
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
    },
    fileName: path.basename(dockerfile.file),
  };
}
