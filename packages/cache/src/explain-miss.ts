import type { CacheKeyInputs } from './cache-key.js';
import { cacheSlotOf, findNearestRecord, type NearestCacheRecord } from './key-slot.js';
import type { CacheStore, ListSlotOptions } from './store.js';

/** Explanation of a missed step, as far as the store can tell. */
export type CacheMissExplanation =
  | ({ kind: 'nearest'; store: string } & NearestCacheRecord)
  /** The store has no entry after the same parent with the same keyword and platform. */
  | { kind: 'no-entry'; store: string; slot: string }
  /** The store cannot list entries, or listing failed (`message` gives the reason). */
  | { kind: 'unavailable'; store: string; message: string };

/**
 * Explains a miss: lists the step's slot in `store` and returns the nearest entry with the inputs
 * that differ. Failures become `unavailable` instead of errors, because an explanation must
 * not fail a build.
 */
export async function explainCacheMiss(
  store: CacheStore,
  inputs: CacheKeyInputs,
  options: ListSlotOptions = {},
): Promise<CacheMissExplanation> {
  if (store.listSlot === undefined)
    return { kind: 'unavailable', store: store.name, message: 'the store cannot list entries' };
  let slot: string;
  try {
    slot = cacheSlotOf(inputs);
    const nearest = findNearestRecord(await store.listSlot(slot, options), inputs);
    if (nearest === undefined) return { kind: 'no-entry', store: store.name, slot };
    return { kind: 'nearest', store: store.name, ...nearest };
  } catch (error) {
    return { kind: 'unavailable', store: store.name, message: (error as Error).message };
  }
}
