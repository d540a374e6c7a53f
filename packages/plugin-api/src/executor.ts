import type { PluginLogger } from './events.js';

/** A bind or tmpfs mount visible only while one RUN executes. */
export interface RunMountSpec {
  type: 'bind' | 'tmpfs' | 'cache';
  /** Host path (bind and cache); ignored for tmpfs. */
  source?: string;
  /** Absolute path inside the root filesystem. */
  target: string;
  readOnly: boolean;
}

/** One command to run inside a root filesystem. */
export interface RunRequest {
  rootfs: string;
  /** Program and arguments; the shell form has already become `[shell..., command]`. */
  argv: string[];
  /** `NAME=VALUE` entries. */
  env: string[];
  /** Absolute working directory inside the root filesystem. */
  cwd: string;
  /** The USER value (`name`, `uid`, `name:group` or `uid:gid`), resolved by the executor. */
  user: string;
  mounts: RunMountSpec[];
  network: 'default' | 'none' | 'host';
  /** Called once per line of output. */
  onOutput(stream: 'stdout' | 'stderr', line: string): void;
  signal: AbortSignal;
}

export interface RunResult {
  exitCode: number;
  /** Name of the signal that ended the process, when one did. */
  signal?: string;
}

/** Runs RUN commands; `chroot` and `none` are built in, plugins add others. */
export interface RunExecutor {
  readonly name: string;
  run(request: RunRequest): Promise<RunResult>;
}

export interface ExecutorOptions {
  logger: PluginLogger;
  /** Options from the command line (`--executor-opt key=value`). */
  options: Readonly<Record<string, string>>;
}

/** Outcome of probing whether an executor can work on this machine. */
export type ExecutorProbe = { available: true } | { available: false; reason: string };

export interface ExecutorFactory {
  /** Name selected with `--executor NAME`. */
  name: string;
  probe(): Promise<ExecutorProbe>;
  create(options: ExecutorOptions): RunExecutor | Promise<RunExecutor>;
}
