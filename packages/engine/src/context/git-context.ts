import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
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

/** Fetches only `ref` (or the default branch) at depth 1 into `dir` and checks it out. */
export async function cloneGitContext(
  location: GitLocation,
  dir: string,
  signal: AbortSignal,
): Promise<void> {
  await git(['init', '-q', dir], location, signal);
  await git(['-C', dir, 'remote', 'add', 'origin', location.url], location, signal);
  await git(
    ['-C', dir, 'fetch', '-q', '--depth', '1', 'origin', location.ref ?? 'HEAD'],
    location,
    signal,
  );
  await git(['-C', dir, 'checkout', '-q', 'FETCH_HEAD'], location, signal);
  // BuildKit leaves .git out of a git context by default, so COPY . does not copy it.
  await rm(path.join(dir, '.git'), { recursive: true, force: true });
  // NOTE: submodules are not fetched, although Docker's builder fetches them. A commit given as the
  // ref must be a full hash that the server allows fetching by id.
}

function git(args: string[], location: GitLocation, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      signal,
      // Never prompt for credentials, because a CI build cannot answer a prompt.
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' },
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
      if (code === 0) return resolve();
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
          `git ${args[0] === '-C' ? args[2] : args[0]} failed for ${location.display}: ${detail}`,
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

/** Hides the user info of a URL, which may contain a password or token. */
export function redact(location: string): string {
  return location.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}
