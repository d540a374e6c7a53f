import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../errors.js';
import { DockerIgnore } from './dockerignore.js';
import { componentPatternToRegExp, hasWildcard } from '../util/glob.js';
import { resolveInRoot, splitPath } from '../util/rootfs-path.js';

/** A file or directory of the build context selected by a COPY source. */
export interface ContextEntry {
  /** The source as matched, relative to the context root (POSIX). */
  relativePath: string;
  /** Host path, always inside the context root. */
  hostPath: string;
  stats: Stats;
}

/**
 * A build context on the local disk. Nothing is read up front, because each COPY source is resolved
 * when it is used. Symlinks are followed as if the context root were `/`, so no path leaves the context.
 */
export class DirectoryContext {
  private constructor(
    readonly root: string,
    readonly ignore: DockerIgnore,
  ) {}

  /**
   * Opens `dir` as a context. Ignore rules come from `<dockerfile>.dockerignore` beside the Dockerfile
   * when that file exists, else from the context's `.dockerignore`, as BuildKit reads them.
   */
  static async open(
    dir: string,
    options: { dockerfile?: string; readIgnoreFile?: boolean } = {},
  ): Promise<DirectoryContext> {
    const stats = await stat(dir).catch(() => undefined);
    if (!stats?.isDirectory()) {
      const problem = stats === undefined ? 'does not exist' : 'is not a directory';
      throw new EngineError('CONTEXT_NOT_FOUND', `Build context ${dir} ${problem}`, {
        hint: 'Pass an existing directory with --context.',
      });
    }
    const root = await realpath(dir);
    if (options.readIgnoreFile === false) return new DirectoryContext(root, DockerIgnore.empty());
    const candidates = [
      ...(options.dockerfile ? [`${options.dockerfile}.dockerignore`] : []),
      path.join(root, '.dockerignore'),
    ];
    for (const candidate of candidates) {
      const text = await readFile(candidate, 'utf8').catch(() => undefined);
      if (text !== undefined)
        return new DirectoryContext(root, DockerIgnore.parse(text, candidate));
    }
    return new DirectoryContext(root, DockerIgnore.empty());
  }

  /**
   * Tells whether a host path under the root belongs to the context. A directory excluded by
   * .dockerignore is still walked when some `!` rule may put back a path below it.
   */
  includes(hostPath: string, stats: Stats): boolean {
    const relative = path.relative(this.root, hostPath).split(path.sep).join('/');
    if (!this.ignore.excludes(relative)) return true;
    return stats.isDirectory() && this.ignore.mayIncludeBelow(relative);
  }

  /** Returns the host path of `relative` inside the context, following symlinks only within it. */
  async resolve(relative: string): Promise<string> {
    return resolveInRoot(this.root, relative);
  }

  /** Expands a COPY source (with wildcards) to the entries it names; a source that matches nothing fails. */
  async match(source: string): Promise<ContextEntry[]> {
    const parts = splitPath(source);
    let candidates = [''];
    for (const part of parts) {
      candidates = hasWildcard(part)
        ? await this.expandComponent(candidates, part)
        : candidates.map((c) => join(c, part));
    }

    const entries: ContextEntry[] = [];
    let ignored: { relativePath: string; hostPath: string } | undefined;
    for (const relativePath of candidates) {
      const hostPath = await this.resolve(relativePath);
      const stats = await lstat(hostPath).catch(() => undefined);
      if (stats && !this.includes(hostPath, stats)) ignored ??= { relativePath, hostPath };
      else if (stats) entries.push({ relativePath, hostPath, stats });
    }
    if (entries.length === 0) {
      const hint =
        ignored !== undefined
          ? this.ignoredHint(ignored.hostPath)
          : 'Check the path: COPY sources are relative to the context directory and cannot leave it.';
      throw new EngineError(
        'CONTEXT_FILE_NOT_FOUND',
        `COPY source ${source} not found in the build context ${this.root}`,
        { hint },
      );
    }
    return entries.sort((a, b) => (a.relativePath < b.relativePath ? -1 : 1));
  }

  /** Builds the hint that names the ignore file, line and pattern excluding `hostPath`, and how to include it again. */
  private ignoredHint(hostPath: string): string {
    const relative = path.relative(this.root, hostPath).split(path.sep).join('/');
    const rule = this.ignore.excludingRule(relative);
    const file = this.ignore.file === undefined ? '.dockerignore' : path.basename(this.ignore.file);
    if (rule === undefined)
      return `The path exists but ${file} excludes it; add a "!" exception there or remove the pattern.`;
    return `The path exists but line ${rule.line} of ${file} ("${rule.pattern}") excludes it; add "!${relative}" after that line or remove the pattern.`;
  }

  private async expandComponent(parents: string[], pattern: string): Promise<string[]> {
    const regExp = componentPatternToRegExp(pattern);
    const matches: string[] = [];
    for (const parent of parents) {
      const names = await readdir(await this.resolve(parent)).catch(() => [] as string[]);
      for (const name of names.sort()) if (regExp.test(name)) matches.push(join(parent, name));
    }
    return matches;
  }
}

function join(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}
