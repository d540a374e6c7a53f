import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { TestkitError } from './errors.js';
import { findFreePort, probePort, probeStatus } from './ports.js';
import {
  makeTempDir,
  removeTempDir,
  requireTool,
  runCommand,
  trackChild,
  untrackChild,
} from './process.js';

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryTlsOptions {
  /** PEM certificate for 127.0.0.1, with the chain up to the CA the client trusts. */
  certPath: string;
  keyPath: string;
  /** PEM CA bundle: when set, the registry requires client certificates signed by it. */
  clientCaPath?: string;
}

/** The registry's `auth.token` settings: tokens are JWTs signed by a key whose certificate is in `rootCertBundle`. */
export interface RegistryTokenAuthOptions {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
}

export interface StartRegistryOptions {
  htpasswd?: RegistryCredentials;
  tls?: RegistryTlsOptions;
  tokenAuth?: RegistryTokenAuthOptions;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the registry part of an image reference. */
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT` or `https://...` when TLS is on. */
  url: string;
  storageDir: string;
  logPath: string;
  /** Credentials accepted by the registry when it was started with `htpasswd`. */
  credentials: RegistryCredentials | undefined;
  tls: boolean;
  stop(): Promise<void>;
}

const START_ATTEMPTS = 3;

// $1 is the config, $2 the PID of the test process and $3 the temporary directory, which the
// watchdog removes only when the test process is gone. The loop ends when either process is gone.
const WATCHDOG = [
  'docker-registry serve "$1" & registry=$!',
  'while kill -0 "$2" 2>/dev/null && kill -0 "$registry" 2>/dev/null; do sleep 0.5; done',
  'kill "$registry" 2>/dev/null',
  'wait "$registry"',
  'kill -0 "$2" 2>/dev/null || rm -rf "$3"',
].join('\n');

/** Sends a signal to the process group led by `pid`: the watchdog shell and the registry. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
const POLL_INTERVAL_MS = 50;
const START_TIMEOUT_MS = 10_000;

/**
 * Starts the Debian `docker-registry` (the reference distribution server) on 127.0.0.1 with a
 * free port and a temporary storage directory, and waits until `/v2/` responds.
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  requireTool('docker-registry', 'docker-registry');
  if (options.htpasswd && options.tokenAuth) {
    throw new TestkitError(
      'INVALID_OPTIONS',
      'startRegistry accepts htpasswd or tokenAuth, not both',
    );
  }

  const dir = await makeTempDir('registry');
  let lastError: unknown;
  // A free port can be taken between the probe and the registry's bind, so try a few.
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(dir, options);
    } catch (error) {
      lastError = error;
    }
  }
  await removeTempDir(dir);
  throw lastError;
}

async function startOnce(dir: string, options: StartRegistryOptions): Promise<TestRegistry> {
  const port = await findFreePort();
  const storageDir = join(dir, 'storage');
  const logPath = join(dir, `registry-${port}.log`);
  const configPath = join(dir, `config-${port}.yml`);
  const scheme = options.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${port}`;

  let htpasswdPath: string | undefined;
  if (options.htpasswd) {
    requireTool('htpasswd', 'apache2-utils');
    htpasswdPath = join(dir, 'htpasswd');
    const { stdout } = await runCommand('htpasswd', [
      '-Bbn',
      options.htpasswd.username,
      options.htpasswd.password,
    ]);
    await writeFile(htpasswdPath, stdout);
  }
  await writeFile(configPath, registryConfig({ port, storageDir, htpasswdPath, ...options }));

  const logFd = openSync(logPath, 'a');
  // A shell watchdog runs the registry in its own process group and stops it when this process
  // is gone, because a test worker killed by a signal never runs its exit handlers.
  const child = spawn('sh', ['-c', WATCHDOG, 'sh', configPath, String(process.pid), dir], {
    stdio: ['ignore', logFd, logFd],
    detached: true,
  });
  closeSync(logFd);
  if (child.pid === undefined) {
    throw new TestkitError('REGISTRY_START_FAILED', 'docker-registry could not be started');
  }
  const pid = child.pid;
  trackChild(pid);

  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.on('exit', () => {
      exited = true;
      untrackChild(pid);
      resolve();
    });
  });

  // With auth on, /v2/ returns 401 once the registry is up. A registry that requires client
  // certificates rejects the probe's handshake, so for it an open port is enough.
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (options.tls?.clientCaPath !== undefined) {
      if (await probePort(port)) break;
    } else {
      const status = await probeStatus(`${url}/v2/`);
      if (status === 200 || status === 401) break;
    }
    if (exited || Date.now() > deadline) {
      killGroup(pid, 'SIGKILL');
      const log = await readFile(logPath, 'utf8').catch(() => '');
      throw new TestkitError(
        'REGISTRY_START_FAILED',
        `docker-registry did not respond on ${url}/v2/ (log ${logPath}): ${log.slice(-2000)}`,
        { hint: 'read the registry log for the reason' },
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }

  let stopped = false;
  return {
    host: `127.0.0.1:${port}`,
    port,
    url,
    storageDir,
    logPath,
    credentials: options.htpasswd,
    tls: options.tls !== undefined,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        killGroup(pid, 'SIGTERM');
        await Promise.race([exitedPromise, sleep(5000)]);
        if (!exited) killGroup(pid, 'SIGKILL');
        await exitedPromise;
      }
      await removeTempDir(dir);
    },
  };
}

interface ConfigInput extends StartRegistryOptions {
  port: number;
  storageDir: string;
  htpasswdPath: string | undefined;
}

function registryConfig(input: ConfigInput): string {
  // JSON is valid YAML, so the config needs no YAML writer and paths need no quoting rules.
  const config: Record<string, unknown> = {
    version: 0.1,
    log: {
      level: 'info',
      accesslog: { disabled: false },
      fields: { service: `registry-${input.port}` },
    },
    storage: {
      filesystem: { rootdirectory: input.storageDir },
      delete: { enabled: true },
      cache: { blobdescriptor: 'inmemory' },
    },
    http: {
      addr: `127.0.0.1:${input.port}`,
      // Signs upload state; any value works for a single test instance.
      secret: `kiln-testkit-${input.port}`,
      headers: { 'X-Content-Type-Options': ['nosniff'] },
      ...(input.tls
        ? {
            tls: {
              certificate: input.tls.certPath,
              key: input.tls.keyPath,
              ...(input.tls.clientCaPath ? { clientcas: [input.tls.clientCaPath] } : {}),
            },
          }
        : {}),
    },
  };
  if (input.htpasswdPath) {
    config.auth = { htpasswd: { realm: 'kiln-test', path: input.htpasswdPath } };
  } else if (input.tokenAuth) {
    config.auth = {
      token: {
        realm: input.tokenAuth.realm,
        service: input.tokenAuth.service,
        issuer: input.tokenAuth.issuer,
        rootcertbundle: input.tokenAuth.rootCertBundle,
      },
    };
  }
  return `${JSON.stringify(config, null, 2)}\n`;
}
