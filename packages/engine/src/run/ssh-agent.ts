import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EngineError } from '../errors.js';

/**
 * An SSH agent that `RUN --mount=type=ssh,id=ID` can use, as `docker build --ssh` takes it: no
 * paths means the agent of `$SSH_AUTH_SOCK`, one socket path means that agent, and key files mean
 * an `ssh-agent` that kiln starts with those keys.
 */
export interface SshSource {
  id: string;
  paths: string[];
}

/** Parses a `--ssh` value: `default`, `ID=SOCKET` or `ID=KEY[,KEY...]`. */
export function parseSshSpec(text: string): SshSource {
  const equals = text.indexOf('=');
  const id = (equals < 0 ? text : text.slice(0, equals)).trim();
  const paths =
    equals < 0
      ? []
      : text
          .slice(equals + 1)
          .split(',')
          .map((part) => part.trim());
  if (id === '' || paths.some((part) => part === '')) {
    throw new EngineError('INVALID_OPTION', `Invalid --ssh value "${text}"`, {
      hint: 'Write --ssh default, --ssh ID=SOCKET or --ssh ID=KEYFILE[,KEYFILE].',
    });
  }
  return { id, paths };
}

/** A running agent socket on the host: forwarded from the user, or from an agent kiln started. */
export interface OpenedSshAgent {
  socket: string;
  /** Stops an agent kiln started (by its PID) and removes its directory; a forwarded one stays. */
  close(): Promise<void>;
}

/** Target of a checked `--ssh` source: a running agent's socket, or key files to load. */
export type CheckedSshSource = { socket: string } | { keyFiles: string[] };

/**
 * Checks that the agent socket or key files of `source` exist and have the right type, so a bad
 * `--ssh` fails before the first step. Throws SSH_SOURCE_INVALID. Key contents are checked only
 * when `ssh-add` loads them at the first RUN that mounts the agent.
 */
export async function checkSshSource(
  source: SshSource,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CheckedSshSource> {
  if (source.paths.length === 0) {
    const socket = env.SSH_AUTH_SOCK;
    if (!socket) {
      throw new EngineError(
        'SSH_SOURCE_INVALID',
        `--ssh ${source.id} needs SSH_AUTH_SOCK, which is not set`,
        {
          hint: 'Start an ssh-agent and export SSH_AUTH_SOCK, or give a socket or key files: --ssh ID=PATH.',
        },
      );
    }
    return { socket: await checkSocket(socket, source.id) };
  }

  const kinds = await Promise.all(source.paths.map((file) => statOrFail(file, source.id)));
  if (kinds.length === 1 && kinds[0]?.isSocket()) return { socket: source.paths[0] as string };
  const notFile = source.paths.find((_, index) => !kinds[index]?.isFile());
  if (notFile !== undefined) {
    throw new EngineError(
      'SSH_SOURCE_INVALID',
      `--ssh ${source.id}: ${notFile} is neither a socket nor a key file`,
      {
        hint: 'Give one agent socket, or one or more private key files.',
      },
    );
  }
  return { keyFiles: source.paths };
}

/** Finds or starts the agent that `source` names. */
export async function openSshAgent(
  source: SshSource,
  scratchDir: string = os.tmpdir(),
): Promise<OpenedSshAgent> {
  const checked = await checkSshSource(source);
  if ('socket' in checked) return { socket: checked.socket, close: async () => {} };
  return startAgentWithKeys(source, scratchDir);
}

/**
 * The agents of one build, by `--ssh` source. An agent that kiln starts from key files starts at
 * the first RUN that mounts it, serves every later RUN, and runs until `close`, which the build
 * calls when it ends (also on failure or cancel).
 */
export class SshAgentPool {
  readonly #scratchDir: string;
  readonly #agents = new Map<string, Promise<OpenedSshAgent>>();
  #closed = false;

  constructor(scratchDir: string = os.tmpdir()) {
    this.#scratchDir = scratchDir;
  }

  /** Returns the host socket of the agent that `source` names, starting the agent on first use. */
  async socket(source: SshSource): Promise<string> {
    if (this.#closed) {
      throw new EngineError(
        'BUILD_CANCELLED',
        `The build ended before --ssh ${source.id} was opened`,
      );
    }
    const key = JSON.stringify([source.id, source.paths]);
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      const opening = openSshAgent(source, this.#scratchDir);
      agent = opening;
      this.#agents.set(key, opening);
      // A failed start is tried again by the next RUN that mounts the agent.
      opening.catch(() => {
        if (this.#agents.get(key) === opening) this.#agents.delete(key);
      });
    }
    return (await agent).socket;
  }

  /** Stops every agent this pool started (by PID) and removes their directories. */
  async close(): Promise<void> {
    this.#closed = true;
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.allSettled(agents.map(async (agent) => (await agent).close()));
  }
}

async function statOrFail(file: string, id: string) {
  return stat(file).catch((error: NodeJS.ErrnoException) => {
    const reason =
      error.code === 'ENOENT'
        ? 'does not exist'
        : `cannot be read (${error.code ?? error.message})`;
    throw new EngineError('SSH_SOURCE_INVALID', `--ssh ${id}: ${file} ${reason}`, {
      hint: 'Give the path of an agent socket or of a private key file.',
      cause: error,
    });
  });
}

async function checkSocket(socket: string, id: string): Promise<string> {
  const stats = await statOrFail(socket, id);
  if (!stats.isSocket()) {
    throw new EngineError('SSH_SOURCE_INVALID', `--ssh ${id}: ${socket} is not a socket`, {
      hint: 'Point SSH_AUTH_SOCK at a running ssh-agent.',
    });
  }
  return socket;
}

/**
 * Starts `ssh-agent -D` on a socket in a new temporary directory and adds the keys with
 * `ssh-add`. The keys must not need a passphrase, since a build cannot answer a prompt.
 */
async function startAgentWithKeys(source: SshSource, scratchDir: string): Promise<OpenedSshAgent> {
  const dir = await socketDir(scratchDir);
  const socket = path.join(dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  // A failed spawn may report only 'error', so either event ends the wait.
  const exited = new Promise<void>((resolve) => {
    agent.once('close', () => resolve());
    agent.once('error', () => resolve());
  });
  const close = async (): Promise<void> => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForSocket(agent, socket, source.id);
    await addKeys(source, socket);
  } catch (error) {
    await close();
    throw error;
  }
  return { socket, close };
}

async function waitForSocket(agent: ChildProcess, socket: string, id: string): Promise<void> {
  let failure: Error | undefined;
  agent.once('error', (error) => (failure = error));
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (failure !== undefined || agent.exitCode !== null) break;
    if ((await lstat(socket).catch(() => undefined))?.isSocket()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new EngineError('RUN_SETUP_FAILED', `Starting ssh-agent for --ssh ${id} failed`, {
    hint: 'Install openssh-client (ssh-agent, ssh-add), or pass an agent socket instead of key files.',
    ...(failure ? { cause: failure } : {}),
  });
}

function addKeys(source: SshSource, socket: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, SSH_AUTH_SOCK: socket };
    const child = spawn('ssh-add', ['-q', '--', ...source.paths], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    child.once('error', (error) =>
      reject(
        new EngineError('RUN_SETUP_FAILED', `Running ssh-add for --ssh ${source.id} failed`, {
          hint: 'Install openssh-client (ssh-add).',
          cause: error,
        }),
      ),
    );
    child.once('close', (code) => {
      if (code === 0) return resolve();
      reject(
        new EngineError(
          'INVALID_OPTION',
          `ssh-add could not load the keys of --ssh ${source.id}: ${stderr.trim()}`,
          {
            hint: 'Give private key files without a passphrase, or load them into your own agent and pass its socket.',
          },
        ),
      );
    });
  });
}

/** Owner and mode of the socket that RUN connects to. */
export interface SocketAccess {
  uid: number;
  gid: number;
  mode: number;
}

/** A socket that relays each connection to an agent socket. */
export interface AgentForwarder {
  socket: string;
  close(): Promise<void>;
}

/**
 * Listens on a new Unix socket (in a new temporary directory) and pipes every connection to
 * `agentSocket`. The RUN gets this socket, with the uid, gid and mode its mount requests,
 * because changing those on the user's own socket would change them for the host too.
 */
export async function forwardAgent(
  agentSocket: string,
  access: SocketAccess,
  scratchDir: string = os.tmpdir(),
): Promise<AgentForwarder> {
  const dir = await socketDir(scratchDir);
  const socket = path.join(dir, 'forward.sock');
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(agentSocket);
    open.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  await chown(socket, access.uid, access.gid);
  await chmod(socket, access.mode);
  return {
    socket,
    close: async () => {
      for (const connection of open) connection.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates a directory for a socket under `scratchDir`, where the build's sweep of stale work
 * directories finds it. A Unix socket path is limited to 108 bytes, so a long `scratchDir` gives
 * way to the system temp directory.
 */
async function socketDir(scratchDir: string): Promise<string> {
  const base =
    path.join(scratchDir, 'kiln-ssh-XXXXXX', 'forward.sock').length < 100
      ? scratchDir
      : os.tmpdir();
  await mkdir(base, { recursive: true });
  return mkdtemp(path.join(base, 'kiln-ssh-'));
}
