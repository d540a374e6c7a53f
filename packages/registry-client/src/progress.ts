import type { Descriptor } from '@kiln/oci-spec';

import type { RegistryEvent } from './events.js';

// Progress events are spaced this many bytes apart, so a 1 GiB blob sends about a thousand.
const PROGRESS_STEP = 1024 * 1024;

/** Returns a function to call with the running byte count; it emits `blob-progress` about once per MiB and at the end. */
export function progressReporter(
  emit: (event: RegistryEvent) => void,
  direction: 'push' | 'pull',
  repository: string,
  descriptor: Descriptor,
): (bytes: number) => void {
  let reported = 0;
  return (bytes) => {
    if (bytes - reported < PROGRESS_STEP && bytes !== descriptor.size) return;
    reported = bytes;
    emit({
      type: 'blob-progress',
      direction,
      repository,
      digest: descriptor.digest,
      bytes,
      total: descriptor.size,
    });
  };
}
