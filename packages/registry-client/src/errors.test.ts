import { describe, expect, it } from 'vitest';

import { errorFromResponse, parseErrorEnvelope, RegistryError } from './errors.js';

describe('parseErrorEnvelope', () => {
  it('reads every entry', () => {
    const body = JSON.stringify({
      errors: [
        { code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: 'sha256:abc' },
        { code: 'DENIED', message: 'no' },
      ],
    });
    expect(parseErrorEnvelope(body)).toEqual([
      { code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: 'sha256:abc' },
      { code: 'DENIED', message: 'no' },
    ]);
  });

  it('returns no entries for other bodies', () => {
    expect(parseErrorEnvelope('<html>bad gateway</html>')).toEqual([]);
    expect(parseErrorEnvelope('{"message":"x"}')).toEqual([]);
  });
});

describe('errorFromResponse', () => {
  const digest = `sha256:${'a'.repeat(64)}`;

  it('uses the spec code and names repository and digest', () => {
    const error = errorFromResponse({
      method: 'PUT',
      status: 400,
      body: JSON.stringify({
        errors: [{ code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry' }],
      }),
      registry: 'registry.example:5000',
      repository: 'team/app',
      digest,
      what: 'manifest v1',
    });
    expect(error).toBeInstanceOf(RegistryError);
    expect(error.code).toBe('MANIFEST_BLOB_UNKNOWN');
    expect(error.status).toBe(400);
    expect(error.repository).toBe('team/app');
    expect(error.digest).toBe(digest);
    expect(error.message).toBe(
      'PUT manifest v1 on registry.example:5000/team/app failed: MANIFEST_BLOB_UNKNOWN: blob unknown to registry',
    );
    expect(error.hint).toMatch(/blob/);
  });

  it('falls back to the status without an envelope', () => {
    const unauthorized = errorFromResponse({
      method: 'GET',
      status: 401,
      body: '',
      registry: 'r',
      what: 'x',
    });
    expect(unauthorized.code).toBe('UNAUTHORIZED');
    const gateway = errorFromResponse({
      method: 'GET',
      status: 502,
      body: 'bad gateway',
      registry: 'r',
      what: 'x',
    });
    expect(gateway.code).toBe('HTTP_ERROR');
    expect(gateway.message).toContain('HTTP 502');
  });
});
