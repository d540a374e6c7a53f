import { RegistryError } from '@kiln/registry-client';

// Codes with which a registry may reject overwriting a tag of an immutable repository. ECR returns
// TAG_INVALID with "... cannot be overwritten because the repository is immutable".
// NOTE: MANIFEST_INVALID and DENIED are accepted on the same wording without a real message seen.
const IMMUTABLE_CODES = new Set(['MANIFEST_INVALID', 'TAG_INVALID', 'DENIED']);

/**
 * Returns true when a push failed because the registry keeps the tag immutable: one of the
 * codes above with "immutable" in its message or detail.
 */
export function isImmutableTagError(error: unknown): boolean {
  let current: unknown = error;
  while (current instanceof Error) {
    if (current instanceof RegistryError && matches(current)) return true;
    current = current.cause;
  }
  return false;
}

function matches(error: RegistryError): boolean {
  for (const detail of error.details) {
    if (!IMMUTABLE_CODES.has(detail.code)) continue;
    const text = `${detail.message} ${JSON.stringify(detail.detail ?? '')}`;
    if (/immutable/i.test(text)) return true;
  }
  return IMMUTABLE_CODES.has(error.code) && /immutable/i.test(error.message);
}
