import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import type { BuildContextReader, ContextFileInfo } from '@kiln/plugin-api';
import type { DirectoryContext } from '../context/build-context.js';
import { EngineError } from '../errors.js';

/**
 * Gives plugins a read-only view of a local build context, with `.dockerignore` applied and
 * paths kept inside the context the way COPY resolves them.
 */
export class ContextReader implements BuildContextReader {
  private readonly digests = new Map<string, Promise<string>>();

  constructor(private readonly context: DirectoryContext) {}

  async stat(path: string): Promise<ContextFileInfo | undefined> {
    const hostPath = await this.context.resolve(path).catch(() => undefined);
    if (hostPath === undefined) return undefined;
    const stats = await lstat(hostPath).catch(() => undefined);
    if (stats === undefined || !this.context.includes(hostPath, stats)) return undefined;
    return this.describe(stripSlashes(path), hostPath, stats);
  }

  async list(pattern: string): Promise<ContextFileInfo[]> {
    const entries = await this.context.match(pattern).catch((error: unknown) => {
      if (error instanceof EngineError && error.code === 'CONTEXT_FILE_NOT_FOUND') return [];
      throw error;
    });
    return Promise.all(
      entries.map((entry) => this.describe(entry.relativePath, entry.hostPath, entry.stats)),
    );
  }

  async open(path: string): Promise<Readable> {
    const info = await this.stat(path);
    if (info?.type !== 'file') {
      throw new EngineError(
        'CONTEXT_FILE_NOT_FOUND',
        `${path} is not a file in the build context ${this.context.root}`,
        { hint: 'Check the path and the .dockerignore file.' },
      );
    }
    return createReadStream(await this.context.resolve(path));
  }

  async readText(path: string): Promise<string> {
    const stream = await this.open(path);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private async describe(path: string, hostPath: string, stats: Stats): Promise<ContextFileInfo> {
    const type = stats.isFile()
      ? 'file'
      : stats.isDirectory()
        ? 'directory'
        : stats.isSymbolicLink()
          ? 'symlink'
          : 'other';
    const info: ContextFileInfo = { path, type, mode: stats.mode & 0o7777, size: stats.size };
    if (type === 'file') info.digest = await this.digestOf(hostPath);
    if (type === 'symlink') info.linkTarget = await readlink(hostPath);
    return info;
  }

  private digestOf(hostPath: string): Promise<string> {
    let digest = this.digests.get(hostPath);
    if (digest === undefined) {
      digest = hashFile(hostPath);
      this.digests.set(hostPath, digest);
    }
    return digest;
  }
}

async function hashFile(hostPath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(hostPath)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

function stripSlashes(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '');
}
