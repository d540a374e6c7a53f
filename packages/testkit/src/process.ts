import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TestkitError } from './errors.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Resolve with the exit code instead of rejecting when the command exits non-zero. */
  allowFailure?: boolean;
}

/** Runs a command to completion and returns its exit code and output. */
export function runCommand(
  file: string,
  args: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) =>
      reject(
        new TestkitError('COMMAND_FAILED', `${file} could not be started: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    child.on('close', (code, signal) => {
      const result = {
        code: code ?? 128,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      };
      if (result.code !== 0 && !options.allowFailure) {
        const how = signal === null ? `exit code ${result.code}` : `signal ${signal}`;
        reject(
          new TestkitError(
            'COMMAND_FAILED',
            `${file} ${args.join(' ')} failed with ${how}: ${result.stderr.trim()}`,
          ),
        );
        return;
      }
      resolve(result);
    });
    if (child.stdin) {
      // A command may exit before reading its input; that is not an error of ours.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

/**
 * Fails unless `binary` is on PATH, naming the Debian package that provides it.
 */
export function requireTool(binary: string, aptPackage: string): void {
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', binary], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new TestkitError(
      'TOOL_NOT_FOUND',
      `${binary} not found: install the Debian package ${aptPackage} (apt-get install ${aptPackage})`,
      { hint: `apt-get install ${aptPackage}` },
    );
  }
}

// Temporary directories and child processes that must not outlive the test process.
const tempDirs = new Set<string>();
const childPids = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of childPids) {
      // A tracked child may lead a process group (the registry watchdog), so signal the group too.
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // Already gone, or not a group leader.
        }
      }
    }
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Tracks a child process so that it is killed when the test process exits. */
export function trackChild(pid: number): void {
  installExitHook();
  childPids.add(pid);
}

export function untrackChild(pid: number): void {
  childPids.delete(pid);
}

/** Creates a temporary directory that is removed by `removeTempDir` or when the process exits. */
export async function makeTempDir(prefix: string): Promise<string> {
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), `kiln-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  await rm(dir, { recursive: true, force: true });
}
