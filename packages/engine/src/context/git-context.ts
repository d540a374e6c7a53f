import { spawn } from 'node:child_process';
import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from '../errors.js';

/** A git build context: the repository URL, the ref to check out and the directory inside it. */
export interface GitLocation {
  url: string;
  ref?: string;
  subdir?: string;
  /** The location with any user info hidden, for messages. */
  display: string;
}

/**
 * Tells whether `location` names a git repository the way Docker and kaniko read it: a `git://`
 * or `git@` address, or an http(s)/ssh/file URL whose path ends in `.git`.
 */
export function isGitLocation(location: string): boolean {
  if (/^git:\/\//i.test(location) || /^git@/i.test(location)) return true;
  const [url = ''] = location.split('#', 1);
  return /^(https?|ssh|file):\/\//i.test(url) && /\.git\/?$/i.test(url);
}

/**
 * Splits `URL#REF:SUBDIR` (Docker's form; kaniko's `#refs/heads/branch` is a ref without a subdir).
 * An empty ref means the remote's default branch.
 */
export function parseGitLocation(location: string): GitLocation {
  const hash = location.indexOf('#');
  const url = hash < 0 ? location : location.slice(0, hash);
  const fragment = hash < 0 ? '' : location.slice(hash + 1);
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
  const display = redact(url);
  if (url === '' || ref.startsWith('-') || url.startsWith('-')) {
    throw new EngineError('CONTEXT_INVALID', `Invalid git build context ${display}`, {
      hint: 'Write it as URL.git#REF:SUBDIR, for example https://host/repo.git#main:app.',
    });
  }
  return {
    url,
    ...(ref ? { ref } : {}),
    ...(subdir ? { subdir } : {}),
    display: fragment ? `${display}#${fragment}` : display,
  };
}

export interface CloneOptions {
  /** Keeps the `.git` directories (ADD --keep-git-dir); by default they are removed, as BuildKit does. */
  keepGitDir?: boolean;
}

/**
 * Fetches only `ref` (or the default branch) at depth 1 into `dir`, checks it out and fetches its
 * submodules recursively. Returns the commit checked out.
 * NOTE: a commit given as the ref must be a full hash that the server allows fetching by id.
 */
export async function cloneGitContext(
  location: GitLocation,
  dir: string,
  signal: AbortSignal,
  options: CloneOptions = {},
): Promise<string> {
  await git(['init', '-q', dir], location, signal);
  await git(['-C', dir, 'remote', 'add', 'origin', location.url], location, signal);
  await git(
    ['-C', dir, 'fetch', '-q', '--depth', '1', 'origin', location.ref ?? 'HEAD'],
    location,
    signal,
  );
  await git(['-C', dir, 'checkout', '-q', 'FETCH_HEAD'], location, signal);
  const commit = (await git(['-C', dir, 'rev-parse', 'HEAD'], location, signal)).trim();

  if (await exists(path.join(dir, '.gitmodules'))) {
    // As BuildKit's source/git/source.go: file:// submodules are refused, and a failing shallow
    // update (which finds a commit only at a branch tip) is retried with full history.
    const update = [
      '-C',
      dir,
      '-c',
      'protocol.file.allow=user',
      'submodule',
      'update',
      '--init',
      '--recursive',
    ];
    await git([...update, '--depth', '1'], location, signal).catch(() =>
      git(update, location, signal),
    );
  }
  if (!options.keepGitDir) {
    // BuildKit leaves .git out by default, so COPY . does not copy it. Submodules have their own.
    const listed = await git(
      ['-C', dir, 'submodule', 'foreach', '--quiet', '--recursive', 'echo "$displaypath"'],
      location,
      signal,
    );
    const submodules = listed.split('\n').filter((line) => line !== '');
    for (const submodule of submodules)
      await rm(path.join(dir, submodule, '.git'), { recursive: true, force: true });
    await rm(path.join(dir, '.git'), { recursive: true, force: true });
  }
  return commit;
}

/**
 * Lists what `location`'s ref (or the remote's HEAD) points at on the remote, with `git ls-remote`,
 * for a cache key that changes when the ref moves. A full commit hash as the ref is returned as is.
 */
export async function remoteRefState(location: GitLocation, signal: AbortSignal): Promise<string> {
  const ref = location.ref ?? 'HEAD';
  if (/^[0-9a-f]{40}([0-9a-f]{24})?$/i.test(ref)) return ref.toLowerCase();
  const listed = await git(['ls-remote', '--', location.url, ref], location, signal);
  if (listed.trim() === '') {
    throw new EngineError('CONTEXT_GIT_FAILED', `${location.display} has no ref ${ref}`, {
      hint: 'Name a branch, a tag or a full commit hash that the repository has.',
    });
  }
  return listed
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .sort()
    .join('\n');
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

/** Runs git without prompts and returns its standard output. */
function git(args: string[], location: GitLocation, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      // Never prompt for credentials, because a CI build cannot answer a prompt.
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    child.on('error', (error) =>
      reject(
        new EngineError(
          'CONTEXT_GIT_FAILED',
          `Cannot run git for ${location.display}: ${error.message}`,
          {
            hint: 'Install git (apt-get install git) to build from a git context.',
            cause: error,
          },
        ),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve(stdout);
      const detail = stderr
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean)
        .map((line) => line.split(location.url).join(location.display))
        .slice(-3)
        .join('; ');
      reject(
        new EngineError(
          'CONTEXT_GIT_FAILED',
          `git ${subcommand(args)} failed for ${location.display}: ${detail}`,
          {
            hint: location.ref
              ? `Check that the repository is reachable and has the ref ${location.ref}.`
              : 'Check that the repository is reachable.',
          },
        ),
      );
    });
  });
}

/** Returns the git subcommand of `args`, skipping the values of -C and -c. */
function subcommand(args: string[]): string {
  const index = args.findIndex(
    (arg, at) => !arg.startsWith('-') && args[at - 1] !== '-C' && args[at - 1] !== '-c',
  );
  return args[index] ?? 'command';
}

/** Hides the user info of a URL, which may contain a password or token. */
export function redact(location: string): string {
  return location.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}
