import { MediaType, parseImageIndex, type Descriptor, type ImageReference } from '@kiln/oci-spec';
import type { RegistryClient } from '@kiln/registry-client';
import { KEY_ANNOTATION, SLOT_ANNOTATION } from './cache-image.js';
import { sha256Digest } from '@kiln/oci-spec';
import { isUnknown } from './registry-support.js';
import type { CacheRecord } from './store.js';

/** Most entries one slot index keeps; older ones drop out, since only recent ones explain misses. */
export const SLOT_INDEX_LIMIT = 50;
const CREATED_ANNOTATION = 'org.opencontainers.image.created';

/** An entry listed in a slot index: its key, manifest digest and creation time. */
export interface SlotCandidate {
  key: string;
  digest: string;
  createdAt: string;
}

/**
 * The entries of each slot, kept in the cache repository as an OCI image index tagged
 * `slot-<sha256 of slot>` whose manifests are the entries (with key and creation annotations).
 * Updates in this process are serialised per slot.
 * NOTE: two processes updating one slot at once can drop an entry from the index. The entry
 * stays usable, but it cannot explain a later miss.
 */
export class RegistrySlotIndex {
  readonly #client: RegistryClient;
  readonly #repository: ImageReference;
  readonly #queues = new Map<string, Promise<void>>();

  constructor(client: RegistryClient, repository: ImageReference) {
    this.#client = client;
    this.#repository = repository;
  }

  #tag(slot: string): ImageReference {
    return this.#repository.withTag(`slot-${sha256Digest(slot).slice('sha256:'.length)}`);
  }

  async #read(slot: string): Promise<Descriptor[]> {
    try {
      const result = await this.#client.getManifest(this.#tag(slot), {
        accept: [MediaType.OciIndex],
      });
      return parseImageIndex(result.bytes).manifests;
    } catch (error) {
      if (isUnknown(error)) return [];
      throw error;
    }
  }

  /** Lists the entries of a slot, newest first. */
  async list(slot: string): Promise<SlotCandidate[]> {
    await this.#queues.get(slot);
    const candidates: SlotCandidate[] = [];
    for (const descriptor of await this.#read(slot)) {
      const key = descriptor.annotations?.[KEY_ANNOTATION];
      const createdAt = descriptor.annotations?.[CREATED_ANNOTATION];
      if (key === undefined || createdAt === undefined) continue;
      candidates.push({ key, digest: descriptor.digest, createdAt });
    }
    return candidates.sort((left, right) => right.createdAt.localeCompare(left.createdAt));
  }

  /** Adds an entry's manifest to its slot index, replacing an earlier entry of the same key. */
  add(slot: string, record: CacheRecord, manifest: Descriptor): Promise<void> {
    const previous = this.#queues.get(slot) ?? Promise.resolve();
    const next = previous.then(async () => {
      const others = (await this.#read(slot)).filter(
        (entry) => entry.annotations?.[KEY_ANNOTATION] !== record.key,
      );
      const entry: Descriptor = {
        ...manifest,
        annotations: {
          [KEY_ANNOTATION]: record.key,
          [CREATED_ANNOTATION]: record.createdAt,
        },
      };
      const manifests = [entry, ...others].slice(0, SLOT_INDEX_LIMIT);
      const bytes = new TextEncoder().encode(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciIndex,
          manifests,
          annotations: { [SLOT_ANNOTATION]: slot },
        }),
      );
      await this.#client.pushManifest(this.#tag(slot), bytes, MediaType.OciIndex);
    });
    const settled = next.catch(() => undefined);
    this.#queues.set(slot, settled);
    void settled.then(() => {
      if (this.#queues.get(slot) === settled) this.#queues.delete(slot);
    });
    return next;
  }
}
