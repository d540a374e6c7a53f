import { describe, expect, it } from 'vitest';

import { mergeScopes, parseChallenge, repositoryScope } from './challenge.js';

describe('parseChallenge', () => {
  it('reads a bearer challenge with scope', () => {
    const challenge = parseChallenge(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"',
    );
    expect(challenge?.scheme).toBe('bearer');
    expect(challenge?.params).toEqual({
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/busybox:pull,push',
    });
  });

  it('reads basic, unquoted values and escapes', () => {
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseChallenge('bearer realm=http://x/token, service=reg')?.params).toEqual({
      realm: 'http://x/token',
      service: 'reg',
    });
    expect(parseChallenge('Bearer realm="a\\"b"')?.params.realm).toBe('a"b');
  });

  it('returns undefined for an empty header', () => {
    expect(parseChallenge('')).toBeUndefined();
  });
});

describe('repositoryScope', () => {
  it('formats a repository scope', () => {
    expect(repositoryScope('team/app', 'pull,push')).toBe('repository:team/app:pull,push');
  });
});

describe('mergeScopes', () => {
  it('unions the actions of one repository', () => {
    expect(
      mergeScopes(['repository:a/b:pull,push', 'repository:a/b:pull', 'repository:c:pull']),
    ).toEqual(['repository:a/b:pull,push', 'repository:c:pull']);
  });

  it('keeps scopes it cannot parse', () => {
    expect(mergeScopes(['registry:catalog:*', 'odd', 'odd', ''])).toEqual([
      'registry:catalog:*',
      'odd',
    ]);
  });
});
