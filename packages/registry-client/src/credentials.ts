import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { RegistryError } from './errors.js';
import { normalizeHost } from './options.js';
import type { Credentials } from './options.js';

/** Credentials found for a registry; `identityToken` is an OAuth2 refresh token from `docker login`. */
export type ResolvedCredentials =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'identity-token'; username: string; identityToken: string };

/**
 * The origin of the credentials for a registry, or the places looked at when none were found.
 * It names files and helpers, never a secret.
 */
export type CredentialSource =
  | { kind: 'explicit' }
  | { kind: 'docker-config'; path: string }
  | { kind: 'cred-helper'; helper: string; path: string }
  | { kind: 'creds-store'; helper: string; path: string }
  /** `path` is the docker config consulted (undefined when it is switched off); `helper` returned "not found". */
  | { kind: 'none'; path: string | undefined; helper?: string };

interface CredentialLookup {
  credentials: ResolvedCredentials | undefined;
  source: CredentialSource;
}

interface DockerConfigAuth {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, DockerConfigAuth>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

// Docker stores Docker Hub credentials under its v1 index URL, and helpers expect that key.
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';

/**
 * Finds credentials per registry host: explicit ones first, then the docker config's
 * `credHelpers`, `auths` and `credsStore`, in the order the docker CLI uses.
 */
export class CredentialStore {
  readonly #explicit: Map<string, Credentials>;
  readonly #configDir: string | false;
  #config: Promise<DockerConfig> | undefined;
  readonly #cache = new Map<string, Promise<CredentialLookup>>();

  constructor(explicit: Record<string, Credentials> = {}, configDir?: string | false) {
    this.#explicit = new Map(
      Object.entries(explicit).map(([host, value]) => [normalizeHost(host), value]),
    );
    this.#configDir = configDir ?? process.env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  }

  /** Returns the credentials for `host`, or undefined for anonymous access. */
  async get(host: string): Promise<ResolvedCredentials | undefined> {
    return (await this.#find(host)).credentials;
  }

  /** Returns where the credentials for `host` come from, or where the lookup found none. */
  async source(host: string): Promise<CredentialSource> {
    return (await this.#find(host)).source;
  }

  #find(host: string): Promise<CredentialLookup> {
    const key = normalizeHost(host);
    let found = this.#cache.get(key);
    if (found === undefined) {
      found = this.#lookup(key);
      this.#cache.set(key, found);
      // A failed helper call is not cached, so a later request can try again.
      found.catch(() => this.#cache.delete(key));
    }
    return found;
  }

  async #lookup(host: string): Promise<CredentialLookup> {
    const explicit = this.#explicit.get(host);
    if (explicit !== undefined) {
      const credentials: ResolvedCredentials =
        'token' in explicit
          ? { kind: 'bearer', token: explicit.token }
          : { kind: 'basic', username: explicit.username, password: explicit.password };
      return { credentials, source: { kind: 'explicit' } };
    }

    const config = await this.#loadConfig();
    const path = this.#configPath();
    const helper = findByHost(config.credHelpers ?? {}, host);
    if (helper !== undefined && path !== undefined) {
      const credentials = await runCredentialHelper(helper, serverUrl(host));
      if (credentials === undefined) return { credentials, source: { kind: 'none', path, helper } };
      return { credentials, source: { kind: 'cred-helper', helper, path } };
    }

    const entry = findByHost(config.auths ?? {}, host);
    if (entry !== undefined && path !== undefined) {
      const fromEntry = fromAuthEntry(entry, host);
      if (fromEntry !== undefined)
        return { credentials: fromEntry, source: { kind: 'docker-config', path } };
    }
    if (config.credsStore && path !== undefined) {
      const store = config.credsStore;
      const credentials = await runCredentialHelper(store, serverUrl(host));
      if (credentials === undefined)
        return { credentials, source: { kind: 'none', path, helper: store } };
      return { credentials, source: { kind: 'creds-store', helper: store, path } };
    }
    return { credentials: undefined, source: { kind: 'none', path } };
  }

  #configPath(): string | undefined {
    return this.#configDir === false ? undefined : join(this.#configDir, 'config.json');
  }

  #loadConfig(): Promise<DockerConfig> {
    this.#config ??= this.#readConfig();
    return this.#config;
  }

  async #readConfig(): Promise<DockerConfig> {
    const path = this.#configPath();
    if (path === undefined) return {};
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    try {
      return JSON.parse(text) as DockerConfig;
    } catch (error) {
      throw new RegistryError('INVALID_OPTIONS', `invalid docker config ${path}: not JSON`, {
        hint: 'Fix or remove the file, or point DOCKER_CONFIG at another directory.',
        cause: error,
      });
    }
  }
}

function serverUrl(host: string): string {
  return host === 'docker.io' ? DOCKER_HUB_SERVER : host;
}

/** Finds a docker config entry whose key (a host or URL) names `host`. */
function findByHost<T>(entries: Record<string, T>, host: string): T | undefined {
  for (const [key, value] of Object.entries(entries)) {
    if (normalizeHost(key) === host) return value;
  }
  return undefined;
}

function fromAuthEntry(entry: DockerConfigAuth, host: string): ResolvedCredentials | undefined {
  if (entry.registrytoken) return { kind: 'bearer', token: entry.registrytoken };
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      throw new RegistryError(
        'INVALID_OPTIONS',
        `invalid "auth" entry for ${host} in the docker config`,
        {
          hint: 'The value must be base64 of "username:password"; run docker login again.',
        },
      );
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (entry.identitytoken)
    return { kind: 'identity-token', username: username ?? '', identityToken: entry.identitytoken };
  if (username !== undefined && password !== undefined && (username !== '' || password !== '')) {
    return { kind: 'basic', username, password };
  }
  return undefined;
}

/**
 * Runs `docker-credential-NAME get` with the server URL on stdin, as the docker CLI does.
 * "credentials not found" means anonymous access; other failures raise without the helper's output,
 * which might contain secrets.
 */
export function runCredentialHelper(
  name: string,
  server: string,
): Promise<ResolvedCredentials | undefined> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.resume();
    child.stdin.on('error', () => undefined);
    child.on('error', (error) =>
      reject(
        new RegistryError(
          'CREDENTIAL_HELPER_FAILED',
          `credential helper ${program} could not be started for ${server}`,
          {
            hint: `Install ${program} or remove it from credsStore/credHelpers in the docker config.`,
            cause: error,
          },
        ),
      ),
    );
    child.on('close', (code) => {
      const output = Buffer.concat(stdout).toString('utf8').trim();
      if (code !== 0) {
        if (/credentials not found/i.test(output)) {
          resolve(undefined);
          return;
        }
        reject(
          new RegistryError(
            'CREDENTIAL_HELPER_FAILED',
            `credential helper ${program} failed for ${server} with exit code ${code}`,
            {
              hint: `Run "echo ${server} | ${program} get" to see the helper's own message.`,
            },
          ),
        );
        return;
      }
      try {
        const parsed = JSON.parse(output) as { Username?: string; Secret?: string };
        const username = parsed.Username ?? '';
        const secret = parsed.Secret ?? '';
        // Docker's convention: the user name "<token>" marks the secret as an identity token.
        if (username === '<token>')
          resolve({ kind: 'identity-token', username: '', identityToken: secret });
        else resolve({ kind: 'basic', username, password: secret });
      } catch {
        reject(
          new RegistryError(
            'CREDENTIAL_HELPER_FAILED',
            `credential helper ${program} returned invalid JSON for ${server}`,
            {
              hint: 'The helper must print {"Username": ..., "Secret": ...}.',
            },
          ),
        );
      }
    });
    child.stdin.end(server);
  });
}
