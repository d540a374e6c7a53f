import { describe, expect, it } from 'vitest';
import type { CacheKeyInputs } from './cache-key.js';
import { diffCacheKeyInputs } from './cache-key-diff.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

function inputs(): CacheKeyInputs {
  return {
    parentKey: 'scratch',
    instruction: 'COPY . /src',
    buildArgs: { TOKEN: 'secret-1', MODE: 'a' },
    env: ['PATH=/bin'],
    platform: 'linux/amd64',
    sources: [
      { path: 'a', digest: D1, mode: 0o644, uid: 0, gid: 0 },
      { path: 'b', digest: D1 },
    ],
    extra: { executor: 'chroot' },
  };
}

describe('diffCacheKeyInputs', () => {
  it('finds nothing between equal inputs', () => {
    const reordered = {
      ...inputs(),
      sources: [...inputs().sources!].reverse(),
      platform: 'linux/x86_64',
    };
    expect(diffCacheKeyInputs(inputs(), reordered)).toEqual([]);
  });

  it('names every changed input', () => {
    const after = inputs();
    after.parentKey = D2;
    after.instruction = 'COPY . /app';
    after.platform = 'linux/arm64';
    after.buildArgs = { TOKEN: 'secret-2', EXTRA: 'x' };
    after.env = ['PATH=/usr/bin'];
    after.sources = [
      { path: 'a', digest: D2, mode: 0o644, uid: 0, gid: 0 },
      { path: 'c', digest: D1 },
    ];
    after.extra = {};
    expect(diffCacheKeyInputs(inputs(), after)).toEqual([
      { field: 'parent', change: 'changed', before: 'scratch', after: D2 },
      { field: 'instruction', change: 'changed', before: 'COPY . /src', after: 'COPY . /app' },
      { field: 'platform', change: 'changed', before: 'linux/amd64', after: 'linux/arm64/v8' },
      { field: 'args.EXTRA', change: 'added' },
      { field: 'args.MODE', change: 'removed' },
      { field: 'args.TOKEN', change: 'changed' },
      { field: 'env.PATH', change: 'changed' },
      {
        field: 'sources.a',
        change: 'changed',
        before: `${D1} mode 644 owner 0:0`,
        after: `${D2} mode 644 owner 0:0`,
      },
      { field: 'sources.b', change: 'removed', before: D1 },
      { field: 'sources.c', change: 'added', after: D1 },
      { field: 'extra.executor', change: 'removed' },
    ]);
  });

  it('never reveals build arg or env values', () => {
    const after = {
      ...inputs(),
      buildArgs: { TOKEN: 'secret-2', MODE: 'a' },
      env: ['PATH=/secret-path'],
    };
    const text = JSON.stringify(diffCacheKeyInputs(inputs(), after));
    expect(text).not.toContain('secret');
  });

  it('reports a mode change of a source', () => {
    const after = inputs();
    after.sources![0]!.mode = 0o600;
    expect(diffCacheKeyInputs(inputs(), after)).toEqual([
      {
        field: 'sources.a',
        change: 'changed',
        before: `${D1} mode 644 owner 0:0`,
        after: `${D1} mode 600 owner 0:0`,
      },
    ]);
  });
});
