import { describe, expect, it } from 'vitest';
import { OciSpecError } from './errors.js';
import { parseReference } from './reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseReference normalisation', () => {
  it.each([
    ['busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['busybox:1.36', 'docker.io', 'library/busybox', '1.36', undefined],
    ['library/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['user/app:v1', 'docker.io', 'user/app', 'v1', undefined],
    ['docker.io/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['index.docker.io/busybox', 'docker.io', 'library/busybox', 'latest', undefined],
    ['index.docker.io/user/app', 'docker.io', 'user/app', 'latest', undefined],
    ['localhost/app', 'localhost', 'app', 'latest', undefined],
    ['localhost:5000/app:dev', 'localhost:5000', 'app', 'dev', undefined],
    ['127.0.0.1:5000/a/b/c:tag', '127.0.0.1:5000', 'a/b/c', 'tag', undefined],
    ['[::1]:5000/app', '[::1]:5000', 'app', 'latest', undefined],
    ['registry.example.com/team/app', 'registry.example.com', 'team/app', 'latest', undefined],
    ['Registry.Example.com/app', 'Registry.Example.com', 'app', 'latest', undefined],
    ['ghcr.io/o/a_b__c.d-e--f:T_1.0-x', 'ghcr.io', 'o/a_b__c.d-e--f', 'T_1.0-x', undefined],
    [`busybox@${DIGEST}`, 'docker.io', 'library/busybox', undefined, DIGEST],
    [`busybox:1.36@${DIGEST}`, 'docker.io', 'library/busybox', '1.36', DIGEST],
    [`localhost:5000/app@${DIGEST}`, 'localhost:5000', 'app', undefined, DIGEST],
    ['localhost:5000', 'docker.io', 'library/localhost', '5000', undefined],
  ])('%s', (input, registry, repository, tag, digest) => {
    const reference = parseReference(input);
    expect(reference.registry).toBe(registry);
    expect(reference.repository).toBe(repository);
    expect(reference.tag).toBe(tag);
    expect(reference.digest).toBe(digest);
  });
});

describe('parseReference errors', () => {
  it.each([
    ['empty', '', /empty reference/],
    ['whitespace', 'busy box', /whitespace/],
    ['upper-case repository', 'BusyBox', /lower-case/],
    ['upper-case path', 'example.com/Team/app', /lower-case/],
    ['trailing separator', 'app-', /path component "app-"/],
    ['leading separator', '_app', /path component "_app"/],
    ['triple underscore', 'a___b', /path component "a___b"/],
    ['empty path component', 'example.com//app', /path component ""/],
    ['empty tag', 'busybox:', /invalid tag ""/],
    ['tag starting with dot', 'busybox:.x', /invalid tag/],
    ['tag too long', `busybox:${'t'.repeat(129)}`, /invalid tag/],
    ['bad digest', 'busybox@sha256:abc', /invalid digest/],
    ['missing name', ':tag', /missing repository name/],
    ['image ID', 'a'.repeat(64), /image ID/],
    ['bad host', 'exa_mple.com/app', /invalid registry host/],
    ['bad port', 'example.com:port/app', /invalid registry host/],
    ['name too long', `example.com/${'a'.repeat(250)}`, /more than the maximum 255/],
  ])('rejects %s', (_name, input, message) => {
    let caught: unknown;
    try {
      parseReference(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OciSpecError);
    expect((caught as OciSpecError).code).toBe('INVALID_REFERENCE');
    expect((caught as OciSpecError).message).toMatch(message);
    expect((caught as OciSpecError).hint).toBeTruthy();
  });

  it('accepts a 128-character tag', () => {
    expect(parseReference(`busybox:${'t'.repeat(128)}`).tag).toHaveLength(128);
  });
});

describe('ImageReference', () => {
  it('formats canonical and familiar forms', () => {
    const reference = parseReference(`busybox:1.36@${DIGEST}`);
    expect(reference.name()).toBe('docker.io/library/busybox');
    expect(reference.toString()).toBe(`docker.io/library/busybox:1.36@${DIGEST}`);
    expect(reference.familiarString()).toBe(`busybox:1.36@${DIGEST}`);
    expect(parseReference('user/app').familiarString()).toBe('user/app:latest');
    expect(parseReference('localhost:5000/app').familiarString()).toBe('localhost:5000/app:latest');
  });

  it('identifier prefers the digest', () => {
    expect(parseReference(`busybox:1@${DIGEST}`).identifier()).toBe(DIGEST);
    expect(parseReference('busybox:1').identifier()).toBe('1');
  });

  it('withTag replaces tag and drops digest', () => {
    const reference = parseReference(`busybox@${DIGEST}`).withTag('2');
    expect(reference.toString()).toBe('docker.io/library/busybox:2');
    expect(() => reference.withTag('-bad')).toThrow(/invalid tag/);
  });

  it('withDigest keeps the tag', () => {
    const reference = parseReference('busybox:2').withDigest(DIGEST);
    expect(reference.toString()).toBe(`docker.io/library/busybox:2@${DIGEST}`);
    expect(() => reference.withDigest('sha256:short')).toThrow(/invalid digest/);
  });

  it('defaultTag option', () => {
    expect(parseReference('busybox', { defaultTag: false }).tag).toBeUndefined();
    expect(parseReference('busybox', { defaultTag: 'stable' }).tag).toBe('stable');
  });

  it('round-trips its canonical string', () => {
    for (const input of ['busybox', `a/b:c@${DIGEST}`, '[::1]:5000/x/y:z', 'localhost/app']) {
      const reference = parseReference(input);
      expect(parseReference(reference.toString())).toEqual(reference);
    }
  });
});
