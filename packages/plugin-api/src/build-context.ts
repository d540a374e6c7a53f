import type { Readable } from 'node:stream';

/** Metadata of one file in the build context. */
export interface ContextFileInfo {
  /** Path inside the context, POSIX, no leading slash. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  size: number;
  /** Content digest (`sha256:<hex>`) for files; computed once and reused. */
  digest?: string;
  /** Target of a symlink. */
  linkTarget?: string;
}

/** Read-only view of the build context after `.dockerignore` filtering. */
export interface BuildContextReader {
  /** Returns the file's metadata, or undefined when the path does not exist or is ignored. */
  stat(path: string): Promise<ContextFileInfo | undefined>;
  /** Lists the files matching Docker's COPY source rules (globs allowed), sorted by path. */
  list(pattern: string): Promise<ContextFileInfo[]>;
  /** Opens a file for reading; throws when the path does not exist or is ignored. */
  open(path: string): Promise<Readable>;
  /** Reads a whole small file (such as an included Dockerfile) as UTF-8 text. */
  readText(path: string): Promise<string>;
}
