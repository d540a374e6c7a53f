/* global process */
// One Kiln transfer, run as its own process so that the benchmark can measure its peak RSS.
// Usage: kiln-op.mjs push LAYOUT TAG REFERENCE | kiln-op.mjs pull REFERENCE LAYOUT
import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { RegistryClient } from '../dist/index.js';

function blobPath(layout, digest) {
  const [algorithm, hex] = digest.split(':');
  return join(layout, 'blobs', algorithm, hex);
}

async function push(layout, tag, reference, client) {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
  const entry = index.manifests.find(
    (item) => item.annotations?.['org.opencontainers.image.ref.name'] === tag,
  );
  if (entry === undefined) throw new Error(`tag ${tag} not found in ${layout}/index.json`);
  const manifestBytes = await readFile(blobPath(layout, entry.digest));
  const manifest = JSON.parse(manifestBytes.toString('utf8'));
  const blobs = [manifest.config, ...manifest.layers].map((descriptor) => ({
    descriptor,
    open: () =>
      createReadStream(blobPath(layout, descriptor.digest), { highWaterMark: 1024 * 1024 }),
  }));
  const result = await client.pushImage(reference, {
    manifestBytes,
    mediaType: entry.mediaType,
    blobs,
  });
  return result.digest;
}

async function pull(reference, layout, client) {
  const image = await client.resolveImage(reference, { os: 'linux', architecture: 'amd64' });
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await Promise.all(
    [image.configDescriptor, ...image.manifest.layers].map((descriptor) =>
      client.downloadBlob(image.reference, descriptor, blobPath(layout, descriptor.digest)),
    ),
  );
  await writeFile(blobPath(layout, image.manifestDescriptor.digest), image.manifestBytes);
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        ...image.manifestDescriptor,
        annotations: { 'org.opencontainers.image.ref.name': 'latest' },
      },
    ],
  };
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
  return image.manifestDescriptor.digest;
}

const [operation, ...args] = process.argv.slice(2);
const client = new RegistryClient({ insecure: true, dockerConfigDir: false });
try {
  const digest =
    operation === 'push'
      ? await push(args[0], args[1], args[2], client)
      : await pull(args[0], args[1], client);
  process.stdout.write(`${digest}\n`);
} finally {
  await client.close();
}
