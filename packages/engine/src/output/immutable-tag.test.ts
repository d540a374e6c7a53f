import { RegistryError } from '@kiln/registry-client';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../errors.js';
import { isImmutableTagError } from './immutable-tag.js';

function registryError(code: string, message: string, detail?: unknown): RegistryError {
  return new RegistryError('HTTP_ERROR', `PUT manifest failed: ${code}: ${message}`, {
    status: 400,
    details: [{ code, message, ...(detail === undefined ? {} : { detail }) }],
  });
}

describe('isImmutableTagError', () => {
  it.each([
    ['TAG_INVALID', 'tag 1 cannot be overwritten because the repository is immutable'],
    ['MANIFEST_INVALID', 'Tag is IMMUTABLE'],
    ['DENIED', 'immutable tag'],
  ])('accepts %s with "immutable"', (code, message) => {
    expect(isImmutableTagError(registryError(code, message))).toBe(true);
  });

  it('reads the detail too', () => {
    expect(
      isImmutableTagError(registryError('DENIED', 'denied', { reason: 'tag is immutable' })),
    ).toBe(true);
  });

  it('rejects other codes and messages', () => {
    expect(isImmutableTagError(registryError('NAME_UNKNOWN', 'immutable'))).toBe(false);
    expect(isImmutableTagError(registryError('DENIED', 'requested access is denied'))).toBe(false);
    expect(isImmutableTagError(new Error('immutable'))).toBe(false);
  });

  it('finds the registry error in the cause chain', () => {
    const wrapped = new EngineError('PUSH_FAILED', 'Pushing failed', {
      cause: registryError('TAG_INVALID', 'repository is immutable'),
    });
    expect(isImmutableTagError(wrapped)).toBe(true);
  });
});
