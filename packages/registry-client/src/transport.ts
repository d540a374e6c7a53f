import { readFileSync, existsSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

import { Agent } from 'undici';
import type { Dispatcher } from 'undici';

import { RegistryError } from './errors.js';
import { normalizeHost, selects } from './options.js';
import type { RegistryClientOptions } from './options.js';

/** Whether a request reads from the registry (pull) or writes to it (push). */
export type Direction = 'pull' | 'push';

/** One host to send requests to for a registry: the registry itself, a mirror or a mapped host. */
export interface Endpoint {
  /** Host (with port) contacted, as written in the options. */
  host: string;
  /** `https://host` or `http://host`. */
  origin: string;
  /** Repository name on this host, with the mapped path prefix applied. */
  repository: string;
  dispatcher: Dispatcher;
  /** True for the registry named in the reference, false for a mirror or mapped host. */
  isOrigin: boolean;
  /** Whether requests to this endpoint pull or push; it picks the retry count. */
  direction: Direction;
}

// Bundles where Debian, Fedora and Alpine keep the system's trusted CAs.
const SYSTEM_CA_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
];

/**
 * Chooses endpoints and connection pools for registries. One undici Agent is kept per distinct
 * TLS setting, so connections to a host are reused across requests.
 */
export class Transport {
  readonly #options: RegistryClientOptions;
  readonly #agents = new Map<string, Agent>();
  readonly #timeoutMs: number;
  readonly #connections: number;

  constructor(options: RegistryClientOptions) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#connections = Math.max(4, (options.concurrency ?? 4) * 2);
  }

  /** Returns the endpoints to try in order for `registry`/`repository`. */
  endpoints(registry: string, repository: string, direction: Direction): Endpoint[] {
    const origin = this.endpoint(registry, repository, direction, true);
    if (direction === 'push') return [origin];

    const key = normalizeHost(registry);
    const mapped =
      Object.entries(this.#options.registryMap ?? {}).find(
        ([from]) => normalizeHost(from) === key,
      )?.[1] ?? (key === 'docker.io' ? (this.#options.registryMirrors ?? []) : []);
    const replacements = mapped.map((target) => {
      const slash = target.replace(/^[a-z]+:\/\//i, '').indexOf('/');
      const bare = target.replace(/^[a-z]+:\/\//i, '');
      const host = slash < 0 ? bare : bare.slice(0, slash);
      const prefix = slash < 0 ? '' : `${bare.slice(slash + 1).replace(/\/+$/, '')}/`;
      return this.endpoint(host, `${prefix}${repository}`, direction, false);
    });
    if (replacements.length === 0) return [origin];
    return this.#options.skipDefaultRegistryFallback ? replacements : [...replacements, origin];
  }

  /** Builds the endpoint for one host. */
  endpoint(host: string, repository: string, direction: Direction, isOrigin: boolean): Endpoint {
    // Docker Hub's API lives on registry-1.docker.io, not on the name in references.
    const contacted = normalizeHost(host) === 'docker.io' ? 'registry-1.docker.io' : host;
    const plain =
      selects(this.#options.insecure, host) ||
      selects(direction === 'pull' ? this.#options.insecurePull : this.#options.insecurePush, host);
    return {
      host,
      origin: `${plain ? 'http' : 'https'}://${contacted}`,
      repository,
      dispatcher: this.#agentFor(host, direction),
      isOrigin,
      direction,
    };
  }

  #agentFor(host: string, direction: Direction): Agent {
    const skipVerify =
      selects(this.#options.skipTlsVerify, host) ||
      selects(
        direction === 'pull' ? this.#options.skipTlsVerifyPull : this.#options.skipTlsVerifyPush,
        host,
      );
    const caPath = findForHost(this.#options.registryCertificates, host);
    const clientCert = findForHost(this.#options.registryClientCerts, host);
    const key = JSON.stringify([skipVerify, caPath ?? null, clientCert ?? null]);
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      agent = new Agent({
        connections: this.#connections,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        connectTimeout: Math.min(this.#timeoutMs, 30_000),
        connect: {
          rejectUnauthorized: !skipVerify,
          ...(caPath === undefined
            ? {}
            : { ca: [...systemCertificates(), readPem(caPath, host, 'CA certificate')] }),
          ...(clientCert === undefined
            ? {}
            : {
                cert: readPem(clientCert.cert, host, 'client certificate'),
                key: readPem(clientCert.key, host, 'client key'),
              }),
        },
      });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }
}

function findForHost<T>(entries: Record<string, T> | undefined, host: string): T | undefined {
  if (entries === undefined) return undefined;
  const key = normalizeHost(host);
  return Object.entries(entries).find(([entryHost]) => normalizeHost(entryHost) === key)?.[1];
}

function readPem(path: string, host: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new RegistryError('TLS_ERROR', `cannot read the ${what} ${path} configured for ${host}`, {
      hint: 'Check the path given for this registry.',
      registry: host,
      cause: error,
    });
  }
}

let systemCache: string[] | undefined;

/** Node's bundled CAs plus the system bundle, so a per-registry CA adds to them instead of replacing them. */
function systemCertificates(): string[] {
  if (systemCache === undefined) {
    const bundle = SYSTEM_CA_BUNDLES.find((path) => existsSync(path));
    systemCache = [
      ...rootCertificates,
      ...(bundle === undefined ? [] : [readFileSync(bundle, 'utf8')]),
    ];
  }
  return systemCache;
}
