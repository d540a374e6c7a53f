import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { makeTokenSigningKey } from './tls.js';
import { makeTempDir, removeTempDir } from './process.js';

/** One `resource:name:actions` scope of a token request, for example `repository:app:pull,push`. */
export interface TokenScope {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenRequestRecord {
  /** User from the Basic header, or undefined for an anonymous request. */
  username: string | undefined;
  service: string | undefined;
  scopes: TokenScope[];
}

export interface StartTokenServerOptions {
  /** Users accepted with Basic auth; a wrong password gets 401. */
  users?: Record<string, string>;
  /** OAuth2 refresh tokens (as `docker login` stores them) accepted in a POST, mapped to their user. */
  refreshTokens?: Record<string, string>;
  /** Allow requests without credentials (the tokens then grant only `pull`). */
  allowAnonymous?: boolean;
  /** Lifetime of issued tokens in seconds. */
  expiresIn?: number;
  service?: string;
  issuer?: string;
}

export interface TestTokenServer {
  /** URL of the token endpoint, the registry's `auth.token.realm`. */
  realm: string;
  service: string;
  issuer: string;
  /** Certificate bundle for the registry's `auth.token.rootcertbundle`. */
  rootCertBundle: string;
  /** Every token request received, in order. */
  requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Parses `repository:library/busybox:pull,push`; the name may itself contain a colon-free path. */
export function parseScope(scope: string): TokenScope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter((action) => action !== ''),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function credentialsOf(req: IncomingMessage): { username: string; password: string } | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Starts a token server on 127.0.0.1 that implements the distribution token protocol: it checks
 * Basic credentials and returns an ES256 JWT whose `x5c` header carries the signing certificate,
 * which the registry verifies against `rootCertBundle`.
 */
export async function startTokenServer(
  options: StartTokenServerOptions = {},
): Promise<TestTokenServer> {
  const dir = await makeTempDir('token');
  const { certPath, keyPath } = await makeTokenSigningKey(dir);
  const certificate = new X509Certificate(await readFile(certPath));
  const privateKey = createPrivateKey(await readFile(keyPath));
  const service = options.service ?? 'kiln-test-registry';
  const issuer = options.issuer ?? 'kiln-test-issuer';
  const expiresIn = options.expiresIn ?? 300;
  const requests: TokenRequestRecord[] = [];

  function issueToken(subject: string, access: TokenScope[]): string {
    const header = { alg: 'ES256', typ: 'JWT', x5c: [certificate.raw.toString('base64')] };
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: subject,
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    // JWS wants the raw r||s form of an ECDSA signature, not DER.
    const signature = sign('sha256', Buffer.from(signingInput), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${signingInput}.${base64url(signature)}`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // GET carries the request in the query; the OAuth2 POST form carries it in the body.
    const params =
      req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    const scopes = params
      .getAll('scope')
      .flatMap((value) => value.split(' '))
      .map(parseScope)
      .filter((scope): scope is TokenScope => scope !== undefined);
    const refreshToken =
      params.get('grant_type') === 'refresh_token' ? params.get('refresh_token') : null;
    const refreshUser = refreshToken === null ? undefined : options.refreshTokens?.[refreshToken];
    const credentials =
      refreshToken === null ? credentialsOf(req) : { username: refreshUser ?? '', password: '' };
    requests.push({
      username: credentials?.username,
      service: params.get('service') ?? undefined,
      scopes,
    });

    const known =
      credentials !== undefined &&
      (refreshToken === null
        ? options.users?.[credentials.username] === credentials.password
        : refreshUser !== undefined);
    if (
      (credentials !== undefined && !known) ||
      (credentials === undefined && !options.allowAnonymous)
    ) {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': 'Basic realm="kiln-test-token"',
      });
      res.end(
        JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }),
      );
      return;
    }
    // Anonymous callers may only pull; known users get what they asked for.
    const access = scopes.map((scope) =>
      known ? scope : { ...scope, actions: scope.actions.filter((action) => action === 'pull') },
    );
    const token = issueToken(credentials?.username ?? '', access);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.socket?.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: certPath,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await removeTempDir(dir);
    },
  };
}
