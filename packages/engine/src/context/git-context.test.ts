import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { isGitLocation, parseGitLocation, redact } from './git-context.js';

describe('isGitLocation', () => {
  it.each([
    'git://github.com/acme/app.git',
    'git://github.com/acme/app.git#refs/heads/main',
    'git@github.com:acme/app.git',
    'https://github.com/acme/app.git#v1:docker',
    'file:///srv/repos/app.git',
  ])('accepts %s', (location) => {
    expect(isGitLocation(location)).toBe(true);
  });

  it.each(['https://example.com/context.tar.gz', 'tar://ctx.tar', './app.git-notes', 's3://b/k'])(
    'rejects %s',
    (location) => {
      expect(isGitLocation(location)).toBe(false);
    },
  );
});

describe('parseGitLocation', () => {
  it('reads the ref and subdir of Docker form', () => {
    const parsed = parseGitLocation('https://host/acme/app.git#v1.2:docker/web');
    expect(parsed.url).toBe('https://host/acme/app.git');
    expect(parsed.ref).toBe('v1.2');
    expect(parsed.subdir).toBe('docker/web');
  });

  it('reads the ref of kaniko form', () => {
    const parsed = parseGitLocation('git://host/acme/app.git#refs/heads/release');
    expect(parsed.url).toBe('git://host/acme/app.git');
    expect(parsed.ref).toBe('refs/heads/release');
    expect(parsed.subdir).toBeUndefined();
  });

  it('reads a subdir without a ref', () => {
    const parsed = parseGitLocation('https://host/app.git#:sub');
    expect(parsed.ref).toBeUndefined();
    expect(parsed.subdir).toBe('sub');
  });

  it('hides user info in the display form', () => {
    const parsed = parseGitLocation('https://user:s3cret@host/app.git#main');
    expect(parsed.url).toContain('s3cret');
    expect(parsed.display).toBe('https://***@host/app.git#main');
    expect(redact('https://token@host/app.git')).toBe('https://***@host/app.git');
  });

  it('rejects a ref that looks like an option', () => {
    expect(() => parseGitLocation('https://host/app.git#--upload-pack=x')).toThrow(EngineError);
  });
});
