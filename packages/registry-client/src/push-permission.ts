import type { ImageReference } from '@kiln/oci-spec';

import { repositoryScope } from './challenge.js';
import type { ClientCore } from './core.js';
import { headerValue } from './http.js';
import { cancelUpload } from './upload.js';

/**
 * Checks that the client may push to the reference's repository by starting a blob upload and
 * cancelling it at once, as go-containerregistry's CheckPushPermission does. An upload start
 * needs push rights, so wrong or missing credentials raise UNAUTHORIZED or DENIED here, before
 * any work that a push would need.
 */
export async function checkPushPermission(
  core: ClientCore,
  reference: ImageReference,
): Promise<void> {
  const endpoint = core.transport.endpoint(reference.registry, reference.repository, 'push', true);
  const scopes = [repositoryScope(endpoint.repository, 'pull,push')];
  const response = await core.http.request(endpoint, {
    method: 'POST',
    target: `/v2/${endpoint.repository}/blobs/uploads/`,
    headers: { 'content-length': '0' },
    scopes,
    expect: [202],
    what: 'push permission check (upload start)',
  });
  await response.body.dump();
  const location = headerValue(response.headers, 'location');
  if (location === undefined) return;
  await cancelUpload(core, endpoint, new URL(location, response.url).toString(), scopes);
}
