import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyLayer, LayerError } from '@kiln/layer-writer';
import type { ContextSourceFactory, PluginLogger } from '@kiln/plugin-api';
import { EngineError } from '../errors.js';
import { resolveInRoot } from '../util/rootfs-path.js';
import { cloneGitContext, isGitLocation, parseGitLocation, redact } from './git-context.js';

/** A build context made available as a local directory, with what removes it afterwards. */
export interface OpenedBuildContext {
  /** The directory the build reads (the sub-path already applied). */
  directory: string;
  /** Origin of the context for messages: a path, `tar://…`, a git URL or a plugin URL. */
  origin: string;
  cleanup(): Promise<void>;
}

export interface OpenContextOptions {
  /** Directory inside the context to use as its root (`--context-sub-path`). */
  subPath?: string;
  /** Context sources that plugins provide, tried before the built-in ones. */
  pluginSources?: ReadonlyArray<{ plugin: string; factory: ContextSourceFactory }>;
  /** Logger handed to a plugin source, by plugin name. */
  logger?: (plugin: string) => PluginLogger;
  /** Stream read for `tar://stdin`; default the process's standard input. */
  stdin?: NodeJS.ReadableStream;
  signal?: AbortSignal;
  /** Directory that unpacked and cloned contexts go under; default the system's temp directory. */
  tempDir?: string;
}

const TAR_SCHEME = 'tar://';
const TAR_SUFFIXES = ['.tar', '.tar.gz', '.tgz'];

/**
 * Opens the build context named by `location`: a plugin's scheme, `tar://PATH` or `tar://stdin`,
 * a git URL, a local `.tar`/`.tar.gz` file, or a directory. Packed and remote contexts are unpacked
 * into a temporary directory that `cleanup()` removes.
 */
export async function openBuildContext(
  location: string,
  options: OpenContextOptions = {},
): Promise<OpenedBuildContext> {
  const opened = await openSource(location, options);
  if (options.subPath === undefined || options.subPath === '') return opened;
  try {
    const directory = await resolveInRoot(opened.directory, options.subPath);
    const stats = await stat(directory).catch(() => undefined);
    if (!stats?.isDirectory()) {
      const problem = stats === undefined ? 'does not exist' : 'is not a directory';
      throw new EngineError(
        'CONTEXT_NOT_FOUND',
        `Context sub-path ${options.subPath} ${problem} in the context ${opened.origin}`,
        { hint: 'Pass a directory that exists inside the context with --context-sub-path.' },
      );
    }
    return { ...opened, directory };
  } catch (error) {
    await opened.cleanup();
    throw error;
  }
}

async function openSource(
  location: string,
  options: OpenContextOptions,
): Promise<OpenedBuildContext> {
  const signal = options.signal ?? new AbortController().signal;
  for (const { plugin, factory } of options.pluginSources ?? []) {
    const logger = options.logger?.(plugin) ?? silentLogger;
    let opened;
    try {
      if (!factory.matches(location)) continue;
      opened = await factory.open(location, { logger, signal });
    } catch (error) {
      throw new EngineError(
        'PLUGIN_FAILED',
        `Plugin ${plugin} failed to open the build context ${location}: ${message(error)}`,
        {
          hint: `Check the location and the ${factory.name} context source of ${plugin}.`,
          cause: error,
        },
      );
    }
    const cleanup = async (): Promise<void> => {
      await opened.cleanup?.().catch(() => undefined);
    };
    const directory = path.resolve(opened.directory);
    await requireDirectory(directory, `${location} (from plugin ${plugin})`).catch(
      async (error: unknown) => {
        await cleanup();
        throw error;
      },
    );
    return { directory, origin: location, cleanup };
  }

  if (location.startsWith(TAR_SCHEME)) {
    const target = location.slice(TAR_SCHEME.length);
    if (target === 'stdin') {
      const stdin = options.stdin ?? process.stdin;
      if ((stdin as { isTTY?: boolean }).isTTY) {
        throw new EngineError('CONTEXT_INVALID', 'tar://stdin was given but stdin is a terminal', {
          hint: 'Pipe the archive in, for example: tar -czf - . | kiln build -c tar://stdin',
        });
      }
      return unpackTar(() => stdin, 'tar://stdin', options.tempDir);
    }
    await requireFile(target, location);
    return unpackTar(path.resolve(target), location, options.tempDir);
  }
  if (isGitLocation(location)) {
    const git = parseGitLocation(location);
    const dir = await makeTempDir(options.tempDir);
    try {
      await cloneGitContext(git, dir, signal);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    const directory = git.subdir ? await resolveInRoot(dir, git.subdir) : dir;
    await requireDirectory(directory, git.display).catch(async (error: unknown) => {
      await rm(dir, { recursive: true, force: true });
      throw error;
    });
    return { directory, origin: git.display, cleanup: () => removeDir(dir) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new EngineError('CONTEXT_INVALID', `Unsupported build context URL ${redact(location)}`, {
      hint: 'Use a directory, tar://PATH, tar://stdin, a git URL (git://, https://….git#ref:dir), or load the plugin that serves this scheme.',
    });
  }
  const stats = await stat(location).catch(() => undefined);
  if (stats?.isFile() && TAR_SUFFIXES.some((suffix) => location.endsWith(suffix)))
    return unpackTar(path.resolve(location), location, options.tempDir);
  await requireDirectory(location, location);
  return { directory: path.resolve(location), origin: location, cleanup: async () => {} };
}

/** Unpacks a tar (plain or compressed) with the layer applier, which rejects names leaving its root. */
async function unpackTar(
  source: string | (() => NodeJS.ReadableStream),
  origin: string,
  tempDir: string | undefined,
): Promise<OpenedBuildContext> {
  const dir = await makeTempDir(tempDir);
  try {
    // Owners in the archive are dropped, because COPY from the context writes files as root unless --chown is given.
    await applyLayer(source, dir, { preserveOwnership: false });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const escape = error instanceof LayerError && error.code === 'PATH_ESCAPE';
    throw new EngineError(
      'CONTEXT_INVALID',
      `Cannot unpack the build context ${origin}: ${message(error)}`,
      {
        hint: escape
          ? 'The archive has an entry that points outside its root (such as ../name); rebuild it with relative names inside one directory.'
          : 'Pass a tar or gzip-compressed tar archive.',
        cause: error,
      },
    );
  }
  return { directory: dir, origin, cleanup: () => removeDir(dir) };
}

async function requireFile(file: string, origin: string): Promise<void> {
  const stats = await stat(file).catch(() => undefined);
  if (!stats?.isFile()) {
    throw new EngineError(
      'CONTEXT_NOT_FOUND',
      `Build context archive ${file} not found (${origin})`,
      {
        hint: 'Pass an existing .tar or .tar.gz file after tar://, or tar://stdin to read it from standard input.',
      },
    );
  }
}

async function requireDirectory(dir: string, origin: string): Promise<void> {
  const stats = await stat(dir).catch(() => undefined);
  if (stats?.isDirectory()) return;
  let problem = 'is not a directory';
  if (stats === undefined) problem = 'does not exist';
  else if (stats.isFile()) problem = 'is a file but not a .tar, .tar.gz or .tgz archive';
  throw new EngineError('CONTEXT_NOT_FOUND', `Build context ${origin} ${problem}`, {
    hint: 'Pass an existing directory, a .tar/.tar.gz file, tar://stdin or a git URL with --context.',
  });
}

async function makeTempDir(parent = os.tmpdir()): Promise<string> {
  await mkdir(parent, { recursive: true });
  return mkdtemp(path.join(parent, 'kiln-context-'));
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const silentLogger: PluginLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
