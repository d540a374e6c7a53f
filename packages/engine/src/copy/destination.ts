import path from 'node:path';
import { EngineError } from '../errors.js';

export interface CopyTarget {
  /** Absolute path inside the image that receives the source. */
  path: string;
  /** The source's contents go into `path` as a directory (source is a directory). */
  contentsOnly: boolean;
}

export interface CopySourceKind {
  /** The source's base name. */
  name: string;
  isDirectory: boolean;
}

/**
 * Applies Docker's COPY destination rules. A relative destination is relative to the working
 * directory. A directory source copies its contents into the destination. A file goes into the
 * destination when it ends with `/` or already is a directory, and otherwise becomes that path.
 * Several sources need a destination that ends with `/`.
 */
export function resolveCopyTargets(
  destination: string,
  workingDir: string,
  sources: CopySourceKind[],
  destinationIsDirectory: boolean,
): CopyTarget[] {
  const endsWithSlash =
    destination.endsWith('/') || destination.endsWith('/.') || destination === '.';
  const absolute = path.posix.resolve('/', workingDir || '/', destination);
  if (sources.length > 1 && !endsWithSlash && !destinationIsDirectory) {
    throw new EngineError(
      'COPY_INVALID_DESTINATION',
      `COPY with more than one source needs a directory destination ending with "/", got "${destination}"`,
      { hint: `Write the destination as "${destination}/".` },
    );
  }
  return sources.map((source) => {
    if (source.isDirectory) return { path: absolute, contentsOnly: true };
    const into = endsWithSlash || destinationIsDirectory;
    return { path: into ? path.posix.join(absolute, source.name) : absolute, contentsOnly: false };
  });
}
