import type { CredentialSource } from './credentials.js';
import { RegistryError } from './errors.js';
import type { Endpoint } from './transport.js';

/** Describes where credentials came from, or where the lookup found none, without any secret. */
export function describeCredentialSource(source: CredentialSource, host: string): string {
  switch (source.kind) {
    case 'explicit':
      return `the explicit credentials given for ${host}`;
    case 'docker-config':
      return `the auths entry for ${host} in ${source.path}`;
    case 'cred-helper':
      return `credential helper docker-credential-${source.helper} (credHelpers in ${source.path})`;
    case 'creds-store':
      return `credential store docker-credential-${source.helper} (credsStore in ${source.path})`;
    case 'none':
      if (source.helper !== undefined)
        return `docker-credential-${source.helper}, which has no credentials for ${host}`;
      return source.path === undefined
        ? 'no docker config (reading it is switched off)'
        : `${source.path}, which has no entry for ${host}`;
  }
}

/**
 * Returns a copy of a 401 or 403 error whose hint names the credentials source that was used and
 * whether credentials were found but rejected or none were found. Other errors are returned as-is.
 */
export function withCredentialHint(
  error: unknown,
  source: CredentialSource,
  endpoint: Endpoint,
): unknown {
  if (!(error instanceof RegistryError)) return error;
  if (error.code !== 'UNAUTHORIZED' && error.code !== 'DENIED') return error;
  if (error.credentialSource !== undefined) return error;

  const host = endpoint.host;
  const where = describeCredentialSource(source, host);
  const mapped = endpoint.isOrigin
    ? ''
    : ` ${host} is a mirror or --registry-map host, so its own credentials are used, not those of the image's registry.`;
  const target = `${host}/${endpoint.repository}`;
  const rejected =
    error.code === 'DENIED'
      ? `Credentials found but rejected for ${endpoint.direction} to ${target}`
      : `Credentials found but rejected by ${target}`;
  const hint =
    source.kind === 'none'
      ? `No credentials found for ${host}: kiln looked in ${where}.${mapped} Log in with "docker login ${host}" or add an auths entry for it to the docker config (DOCKER_CONFIG names its directory).`
      : `${rejected}: they came from ${where}.${mapped} Check the user name, password or token there and the account's rights on the repository.`;
  return new RegistryError(error.code, error.message, {
    hint,
    cause: error.cause,
    status: error.status,
    registry: error.registry,
    repository: error.repository,
    digest: error.digest,
    details: error.details,
    credentialSource: source,
  });
}
