import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaType, sha256Digest } from '@kiln/oci-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheKeyInputs } from './cache-key.js';
import { explainCacheMiss } from './explain-miss.js';
import { LocalDirectoryStore } from './local-store.js';
import type { CacheStore } from './store.js';

const inputs: CacheKeyInputs = {
  parentKey: sha256Digest('base'),
  instruction: 'COPY src /src',
  platform: 'linux/amd64',
  sources: [{ path: 'src/main.c', digest: sha256Digest('old main') }],
};

describe('explainCacheMiss', () => {
  let root: string;
  let store: LocalDirectoryStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'kiln-explain-'));
    store = new LocalDirectoryStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('names the changed source file', async () => {
    await store.put(
      'old',
      { stream: Readable.from([Buffer.from('layer')]) },
      {
        mediaType: MediaType.OciLayerGzip,
        inputs,
      },
    );
    const changed = {
      ...inputs,
      sources: [{ path: 'src/main.c', digest: sha256Digest('new main') }],
    };
    const explanation = await explainCacheMiss(store, changed);
    expect(explanation.kind).toBe('nearest');
    if (explanation.kind === 'nearest') {
      expect(explanation.record.key).toBe('old');
      expect(explanation.differences.map((difference) => difference.field)).toEqual([
        'sources.src/main.c',
      ]);
    }
  });

  it('reports an empty slot', async () => {
    const explanation = await explainCacheMiss(store, inputs);
    expect(explanation).toMatchObject({ kind: 'no-entry', store: store.name });
  });

  it('reports a store that cannot list', async () => {
    const plain: CacheStore = {
      name: 'plain',
      get: () => store.get('x'),
      put: (key, source, options) => store.put(key, source, options),
      delete: (key) => store.delete(key),
    };
    expect(await explainCacheMiss(plain, inputs)).toMatchObject({ kind: 'unavailable' });
  });

  it('turns a listing failure into a message', async () => {
    const failing: CacheStore = {
      name: 'failing',
      get: () => store.get('x'),
      put: (key, source, options) => store.put(key, source, options),
      delete: (key) => store.delete(key),
      listSlot: () => Promise.reject(new Error('registry unreachable')),
    };
    expect(await explainCacheMiss(failing, inputs)).toEqual({
      kind: 'unavailable',
      store: 'failing',
      message: 'registry unreachable',
    });
  });
});
