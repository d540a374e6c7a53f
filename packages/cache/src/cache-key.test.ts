import { describe, expect, it } from 'vitest';
import { canonicalCacheKeyJson, computeCacheKey, type CacheKeyInputs } from './cache-key.js';
import { canonicalJson } from './canonical-json.js';
import { CacheError } from './errors.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

function baseInputs(): CacheKeyInputs {
  return {
    parentKey: `sha256:${'0'.repeat(64)}`,
    instruction: 'COPY app/ /srv/',
    buildArgs: { VERSION: '1.0', MODE: 'release' },
    env: ['PATH=/usr/bin', 'HOME=/root'],
    platform: 'linux/amd64',
    sources: [
      { path: 'app/a.txt', digest: D1, mode: 0o644, uid: 0, gid: 0 },
      { path: 'app/b.txt', digest: D2, mode: 0o755, uid: 0, gid: 0 },
    ],
    extra: { executor: 'chroot' },
  };
}

describe('computeCacheKey', () => {
  const key = computeCacheKey(baseInputs());

  it('returns a sha256 digest of the canonical JSON', () => {
    expect(key).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(computeCacheKey(baseInputs())).toBe(key);
  });

  it.each<[string, (inputs: CacheKeyInputs) => void]>([
    ['parent key', (inputs) => void (inputs.parentKey = `sha256:${'9'.repeat(64)}`)],
    ['instruction', (inputs) => void (inputs.instruction = 'COPY app/ /srv/app/')],
    ['build arg value', (inputs) => void (inputs.buildArgs!.VERSION = '1.1')],
    ['added build arg', (inputs) => void (inputs.buildArgs!.EXTRA = '')],
    ['removed build arg', (inputs) => void delete inputs.buildArgs!.MODE],
    ['env value', (inputs) => void (inputs.env = ['PATH=/bin', 'HOME=/root'])],
    ['added env', (inputs) => void (inputs.env = ['PATH=/usr/bin', 'HOME=/root', 'X='])],
    ['platform', (inputs) => void (inputs.platform = 'linux/arm64')],
    ['platform variant', (inputs) => void (inputs.platform = 'linux/amd64/v3')],
    ['source content', (inputs) => void (inputs.sources![0]!.digest = D2)],
    ['source mode', (inputs) => void (inputs.sources![0]!.mode = 0o600)],
    ['source uid', (inputs) => void (inputs.sources![0]!.uid = 1000)],
    ['source gid', (inputs) => void (inputs.sources![0]!.gid = 1000)],
    ['source path', (inputs) => void (inputs.sources![0]!.path = 'app/c.txt')],
    ['added source', (inputs) => void inputs.sources!.push({ path: 'app/d', digest: D1 })],
    ['removed source', (inputs) => void inputs.sources!.pop()],
    ['extra input', (inputs) => void (inputs.extra = { executor: 'none' })],
  ])('changes with the %s', (_name, change) => {
    const inputs = baseInputs();
    change(inputs);
    expect(computeCacheKey(inputs)).not.toBe(key);
  });

  it.each<[string, (inputs: CacheKeyInputs) => void]>([
    ['build arg order', (inputs) => void (inputs.buildArgs = { MODE: 'release', VERSION: '1.0' })],
    ['env order', (inputs) => void (inputs.env = ['HOME=/root', 'PATH=/usr/bin'])],
    ['env as a map', (inputs) => void (inputs.env = { HOME: '/root', PATH: '/usr/bin' })],
    ['source order', (inputs) => void inputs.sources!.reverse()],
    [
      'platform spelling',
      (inputs) => void (inputs.platform = { os: 'linux', architecture: 'x86_64' }),
    ],
  ])('ignores %s', (_name, change) => {
    const inputs = baseInputs();
    change(inputs);
    expect(computeCacheKey(inputs)).toBe(key);
  });

  it('lets a later env entry win', () => {
    const inputs = baseInputs();
    inputs.env = ['PATH=/old', 'PATH=/usr/bin', 'HOME=/root'];
    expect(computeCacheKey(inputs)).toBe(key);
  });

  it('keeps fields apart that could run together', () => {
    const a = { ...baseInputs(), buildArgs: { A: 'B=C' } };
    const b = { ...baseInputs(), buildArgs: { 'A=B': 'C' } };
    expect(computeCacheKey(a)).not.toBe(computeCacheKey(b));
  });

  it('writes the documented canonical JSON', () => {
    const json = canonicalCacheKeyJson({
      parentKey: 'scratch',
      instruction: 'RUN true',
      platform: 'linux/arm64',
    });
    expect(json).toBe(
      '{"args":{},"env":{},"extra":{},"format":"kiln.cache-key.v1","instruction":"RUN true","parent":"scratch","platform":"linux/arm64/v8","sources":[]}',
    );
  });

  it.each<[string, Partial<CacheKeyInputs>]>([
    ['empty parent', { parentKey: '' }],
    ['empty instruction', { instruction: '  ' }],
    ['bad env entry', { env: ['NOVALUE'] }],
    ['bad source digest', { sources: [{ path: 'a', digest: 'md5:x' }] }],
    [
      'duplicate source',
      {
        sources: [
          { path: 'a', digest: D1 },
          { path: 'a', digest: D2 },
        ],
      },
    ],
  ])('rejects %s', (_name, override) => {
    expect(() => computeCacheKey({ ...baseInputs(), ...override })).toThrow(CacheError);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: null, y: 'x' }], c: true } })).toBe(
      '{"a":{"c":true,"d":[2,{"y":"x","z":null}]},"b":1}',
    );
    const withUndefined: Record<string, string | undefined> = { a: undefined, b: 'x' };
    expect(canonicalJson(withUndefined as Record<string, string>)).toBe('{"b":"x"}');
  });

  it('rejects numbers JSON cannot encode', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
  });
});
