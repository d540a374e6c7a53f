import { describe, expect, it } from 'vitest';

import { describeCredentialSource, withCredentialHint } from './credential-hint.js';
import type { CredentialSource } from './credentials.js';
import { RegistryError } from './errors.js';
import type { Endpoint } from './transport.js';

function endpoint(isOrigin: boolean, direction: Endpoint['direction'] = 'pull'): Endpoint {
  return {
    host: 'mirror.test:5000',
    origin: 'http://mirror.test:5000',
    repository: 'library/busybox',
    dispatcher: undefined as unknown as Endpoint['dispatcher'],
    isOrigin,
    direction,
  };
}

const unauthorized = new RegistryError('UNAUTHORIZED', 'GET manifest failed: HTTP 401', {
  status: 401,
});

describe('describeCredentialSource', () => {
  it.each<[CredentialSource, string]>([
    [{ kind: 'explicit' }, 'the explicit credentials given for h:1'],
    [
      { kind: 'docker-config', path: '/c/config.json' },
      'the auths entry for h:1 in /c/config.json',
    ],
    [
      { kind: 'cred-helper', helper: 'ecr-login', path: '/c/config.json' },
      'credential helper docker-credential-ecr-login (credHelpers in /c/config.json)',
    ],
    [
      { kind: 'creds-store', helper: 'pass', path: '/c/config.json' },
      'credential store docker-credential-pass (credsStore in /c/config.json)',
    ],
    [{ kind: 'none', path: '/c/config.json' }, '/c/config.json, which has no entry for h:1'],
    [
      { kind: 'none', path: '/c/config.json', helper: 'pass' },
      'docker-credential-pass, which has no credentials for h:1',
    ],
    [{ kind: 'none', path: undefined }, 'no docker config (reading it is switched off)'],
  ])('describes %o', (source, text) => {
    expect(describeCredentialSource(source, 'h:1')).toBe(text);
  });
});

describe('withCredentialHint', () => {
  it('names a mapped host as such', () => {
    const hinted = withCredentialHint(
      unauthorized,
      { kind: 'none', path: '/c.json' },
      endpoint(false),
    );
    expect((hinted as RegistryError).hint).toContain('mirror or --registry-map host');
    expect((hinted as RegistryError).hint).toContain('No credentials found for mirror.test:5000');
  });

  it('says which direction a 403 denied', () => {
    const denied = new RegistryError('DENIED', 'PUT manifest failed: DENIED', { status: 403 });
    const hinted = withCredentialHint(denied, { kind: 'explicit' }, endpoint(true, 'push'));
    expect((hinted as RegistryError).hint).toContain(
      'Credentials found but rejected for push to mirror.test:5000/library/busybox',
    );
    expect((hinted as RegistryError).credentialSource).toEqual({ kind: 'explicit' });
    expect((hinted as RegistryError).status).toBe(403);
  });

  it('leaves other errors alone', () => {
    const missing = new RegistryError('MANIFEST_UNKNOWN', 'no such tag', { status: 404 });
    expect(withCredentialHint(missing, { kind: 'explicit' }, endpoint(true))).toBe(missing);
  });
});
