import type { Dispatcher } from 'undici';

import type { Challenge } from './challenge.js';
import { mergeScopes, parseChallenge } from './challenge.js';
import type { CredentialSource, CredentialStore, ResolvedCredentials } from './credentials.js';
import { errorFromResponse, RegistryError } from './errors.js';

interface CachedToken {
  token: string;
  /** Epoch ms after which the token is not used any more. */
  expiresAt: number;
}

interface HostAuthState {
  challenge: Challenge | undefined;
  tokens: Map<string, CachedToken>;
}

// The distribution token spec's default lifetime when the response gives none.
const DEFAULT_TOKEN_SECONDS = 60;
// Refresh a token this long before it expires so that it does not expire in flight.
const EXPIRY_MARGIN_MS = 10_000;

export interface AuthContext {
  /** Host used for credential lookup and for error messages. */
  host: string;
  /** Origin of the endpoint the request goes to; auth state is kept per origin. */
  origin: string;
  dispatcher: Dispatcher;
  scopes: string[];
}

/**
 * Produces Authorization headers for registry requests: Basic from the credentials, or Bearer
 * tokens from the challenge's realm, cached per origin and scope until they expire.
 */
export class Authenticator {
  readonly #credentials: CredentialStore;
  readonly #userAgent: string;
  readonly #states = new Map<string, HostAuthState>();

  constructor(credentials: CredentialStore, userAgent: string) {
    this.#credentials = credentials;
    this.#userAgent = userAgent;
  }

  #state(origin: string): HostAuthState {
    let state = this.#states.get(origin);
    if (state === undefined) {
      state = { challenge: undefined, tokens: new Map() };
      this.#states.set(origin, state);
    }
    return state;
  }

  /** Returns where the credentials for `host` come from, or where none were found. */
  credentialSource(host: string): Promise<CredentialSource> {
    return this.#credentials.source(host);
  }

  /** Returns the Authorization header for a request, or undefined while no challenge is known. */
  async authorization(context: AuthContext): Promise<string | undefined> {
    const state = this.#state(context.origin);
    const challenge = state.challenge;
    if (challenge === undefined) return undefined;
    const credentials = await this.#credentials.get(context.host);

    if (challenge.scheme === 'basic') {
      if (credentials?.kind !== 'basic') return undefined;
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    if (challenge.scheme !== 'bearer') return undefined;
    if (credentials?.kind === 'bearer') return `Bearer ${credentials.token}`;

    const key = [...context.scopes].sort().join(' ');
    const cached = state.tokens.get(key);
    if (cached !== undefined && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    const fetched = await this.#fetchToken(challenge, context, credentials);
    state.tokens.set(key, fetched);
    return `Bearer ${fetched.token}`;
  }

  /**
   * Records a 401's challenge and drops the token that was rejected. Returns true when a new
   * attempt can authenticate differently, false when it would fail the same way.
   */
  async onUnauthorized(
    context: AuthContext,
    header: string | undefined,
    sentAuthorization: string | undefined,
  ): Promise<boolean> {
    const challenge = header === undefined ? undefined : parseChallenge(header);
    if (challenge === undefined) return false;
    const state = this.#state(context.origin);
    state.challenge = challenge;
    if (challenge.scheme === 'bearer') {
      state.tokens.delete([...context.scopes].sort().join(' '));
      if (sentAuthorization === undefined) return true;
      // A rejected token may have expired early; one refresh is worth it, a rejected static token is not.
      const credentials = await this.#credentials.get(context.host);
      return credentials?.kind !== 'bearer' && sentAuthorization.startsWith('Bearer ');
    }
    if (challenge.scheme === 'basic') {
      if (sentAuthorization !== undefined) return false;
      const credentials = await this.#credentials.get(context.host);
      return credentials?.kind === 'basic';
    }
    return false;
  }

  async #fetchToken(
    challenge: Challenge,
    context: AuthContext,
    credentials: ResolvedCredentials | undefined,
  ): Promise<CachedToken> {
    const realm = challenge.params.realm;
    if (realm === undefined || !/^https?:\/\//.test(realm)) {
      throw new RegistryError(
        'INVALID_RESPONSE',
        `${context.host} sent a Bearer challenge without a valid realm`,
        {
          hint: 'The registry is misconfigured; its auth.token.realm must be an http(s) URL.',
          registry: context.host,
        },
      );
    }
    const url = new URL(realm);
    const scopes = mergeScopes([...context.scopes, ...(challenge.params.scope?.split(' ') ?? [])]);

    let response: Dispatcher.ResponseData;
    const headers: Record<string, string> = {
      'user-agent': this.#userAgent,
      accept: 'application/json',
    };
    if (credentials?.kind === 'identity-token') {
      // An identity token from `docker login` is an OAuth2 refresh token, exchanged with a POST.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.identityToken,
        client_id: 'kiln',
      });
      if (challenge.params.service) form.set('service', challenge.params.service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      response = await this.#send(
        context,
        url,
        'POST',
        { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        form.toString(),
      );
    } else {
      if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      if (credentials?.kind === 'basic') {
        headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      }
      response = await this.#send(context, url, 'GET', headers, undefined);
    }

    const text = await response.body.text();
    if (response.statusCode !== 200) {
      const error = errorFromResponse({
        method: 'token request',
        status: response.statusCode,
        body: text,
        registry: context.host,
        what: `for ${scopes.join(' ') || 'registry access'} at ${url.origin}${url.pathname}`,
      });
      throw error;
    }
    let parsed: {
      token?: unknown;
      access_token?: unknown;
      expires_in?: unknown;
      issued_at?: unknown;
    };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch (error) {
      throw new RegistryError(
        'INVALID_RESPONSE',
        `token server ${url.origin} returned invalid JSON for ${context.host}`,
        {
          hint: 'The token server is misconfigured.',
          registry: context.host,
          cause: error,
        },
      );
    }
    const token =
      typeof parsed.token === 'string' && parsed.token !== '' ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RegistryError(
        'INVALID_RESPONSE',
        `token server ${url.origin} returned no token for ${context.host}`,
        {
          hint: 'The token server is misconfigured.',
          registry: context.host,
        },
      );
    }
    const seconds =
      typeof parsed.expires_in === 'number' && parsed.expires_in > 0
        ? parsed.expires_in
        : DEFAULT_TOKEN_SECONDS;
    const issuedAt =
      typeof parsed.issued_at === 'string' ? Date.parse(parsed.issued_at) : Number.NaN;
    const start = Number.isNaN(issuedAt) ? Date.now() : Math.min(issuedAt, Date.now());
    return {
      token,
      expiresAt: start + seconds * 1000 - Math.min(EXPIRY_MARGIN_MS, (seconds * 1000) / 2),
    };
  }

  async #send(
    context: AuthContext,
    url: URL,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await context.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        body,
      });
    } catch (error) {
      throw new RegistryError(
        'NETWORK_ERROR',
        `token request to ${url.origin}${url.pathname} for ${context.host} failed: ${(error as Error).message}`,
        {
          hint: "Check that the token server named in the registry's challenge is reachable.",
          registry: context.host,
          cause: error,
        },
      );
    }
  }
}
