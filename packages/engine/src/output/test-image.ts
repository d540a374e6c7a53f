import { MediaType, sha256Digest } from '@kiln/oci-spec';
import { BlobStore } from '../image/blob-store.js';
import { ImageBuilder } from '../image/image-builder.js';
import type { AssembledImage } from '../image/image-builder.js';

/** Builds a small image for output tests: one made-up layer blob stored in a fresh blob store. */
export async function makeTestImage(
  storeDir: string,
  layerText = 'layer bytes',
): Promise<{ image: AssembledImage; store: BlobStore }> {
  const store = new BlobStore(storeDir);
  const layerBytes = new TextEncoder().encode(layerText);
  const digest = sha256Digest(layerBytes);
  await store.put(digest, layerBytes);

  const builder = new ImageBuilder(
    undefined,
    { os: 'linux', architecture: 'amd64' },
    '1970-01-01T00:00:00Z',
  );
  builder.addLayer(
    { digest, size: layerBytes.byteLength, diffId: digest, mediaType: MediaType.OciLayerGzip },
    'COPY x /x',
  );
  builder.containerConfig.Cmd = ['sh'];
  return { image: builder.assemble(), store };
}
