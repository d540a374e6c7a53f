import { sha256Digest } from '@kiln/oci-spec';
import { describe, expect, it } from 'vitest';
import type { CacheKeyInputs } from './cache-key.js';
import { cacheSlotOf, findNearestRecord, redactCacheKeyInputs } from './key-slot.js';
import { buildRecord } from './record.js';

const D1 = `sha256:${'1'.repeat(64)}`;

function inputs(overrides: Partial<CacheKeyInputs> = {}): CacheKeyInputs {
  return {
    parentKey: D1,
    instruction: 'RUN make',
    buildArgs: { TOKEN: 'secret' },
    env: ['PATH=/bin', 'PATH=/usr/bin'],
    platform: 'linux/x86_64',
    sources: [{ path: 'a', digest: D1, mode: 0o644 }],
    extra: { executor: 'chroot' },
    ...overrides,
  };
}

function recordOf(key: string, stepInputs: CacheKeyInputs, createdAt: string) {
  return buildRecord(
    key,
    { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: D1, size: 1 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar', inputs: stepInputs },
    new Date(createdAt),
  );
}

describe('redactCacheKeyInputs', () => {
  it('replaces values by digests', () => {
    const redacted = redactCacheKeyInputs(inputs());
    expect(redacted.buildArgs).toEqual({ TOKEN: sha256Digest('secret') });
    expect(redacted.env).toEqual({ PATH: sha256Digest('/usr/bin') });
    expect(redacted.extra).toEqual({ executor: sha256Digest('chroot') });
    expect(redacted.platform).toBe('linux/amd64');
    expect(redacted.sources).toEqual([{ path: 'a', digest: D1, mode: 0o644 }]);
  });
});

describe('cacheSlotOf', () => {
  it('ignores everything but parent, keyword and platform', () => {
    const slot = cacheSlotOf(inputs());
    expect(cacheSlotOf(inputs({ instruction: 'run  make install', buildArgs: {} }))).toBe(slot);
    expect(cacheSlotOf(redactCacheKeyInputs(inputs()))).toBe(slot);
    expect(cacheSlotOf(inputs({ instruction: 'COPY . /' }))).not.toBe(slot);
    expect(cacheSlotOf(inputs({ parentKey: 'scratch' }))).not.toBe(slot);
    expect(cacheSlotOf(inputs({ platform: 'linux/arm64' }))).not.toBe(slot);
  });
});

describe('findNearestRecord', () => {
  it('picks the fewest differences, then the newest', () => {
    const records = [
      recordOf('two', inputs({ instruction: 'RUN make all', env: [] }), '2026-01-03T00:00:00Z'),
      recordOf('one-old', inputs({ buildArgs: { TOKEN: 'x' } }), '2026-01-01T00:00:00Z'),
      recordOf('one-new', inputs({ extra: {} }), '2026-01-02T00:00:00Z'),
    ];
    const nearest = findNearestRecord(records, inputs());
    expect(nearest?.record.key).toBe('one-new');
    expect(nearest?.differences).toEqual([{ field: 'extra.executor', change: 'added' }]);
  });

  it('names a changed source file with its digests', () => {
    const changed = inputs({ sources: [{ path: 'a', digest: sha256Digest('new'), mode: 0o644 }] });
    const nearest = findNearestRecord([recordOf('k', inputs(), '2026-01-01T00:00:00Z')], changed);
    expect(nearest?.differences).toEqual([
      {
        field: 'sources.a',
        change: 'changed',
        before: `${D1} mode 644`,
        after: `${sha256Digest('new')} mode 644`,
      },
    ]);
  });

  it('skips records without inputs', () => {
    const record = recordOf('k', inputs(), '2026-01-01T00:00:00Z');
    delete record.inputs;
    expect(findNearestRecord([record], inputs())).toBeUndefined();
  });
});
