import type { CredentialSource } from './credentials.js';

/**
 * Error codes of the OCI distribution spec (`errors[].code` in a registry's error response),
 * plus codes for failures the client detects itself.
 */
export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'MANIFEST_UNVERIFIED'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  // Client-side codes.
  | 'HTTP_ERROR'
  | 'NETWORK_ERROR'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'TLS_ERROR'
  | 'INVALID_RESPONSE'
  | 'DIGEST_MISMATCH'
  | 'UNSUPPORTED_MANIFEST'
  | 'PLATFORM_NOT_FOUND'
  | 'CREDENTIAL_HELPER_FAILED'
  | 'INVALID_OPTIONS';

const SPEC_CODES = new Set<string>([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'MANIFEST_UNVERIFIED',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'TAG_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
]);

/** One entry of the spec's error envelope `{"errors": [{"code", "message", "detail"}]}`. */
export interface RegistryErrorDetail {
  code: string;
  message: string;
  detail?: unknown;
}

export interface RegistryErrorOptions {
  hint?: string;
  cause?: unknown;
  /** HTTP status of the response, when the error came from one. */
  status?: number;
  /** Registry host the request went to. */
  registry?: string;
  repository?: string;
  digest?: string;
  /** Every entry of the registry's error envelope. */
  details?: RegistryErrorDetail[];
  /** For a 401 or 403: where the credentials came from, or where none were found. */
  credentialSource?: CredentialSource;
}

/** Base class of every error of the registry client. Messages never contain credentials. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  readonly code: RegistryErrorCode;
  readonly hint: string | undefined;
  readonly status: number | undefined;
  readonly registry: string | undefined;
  readonly repository: string | undefined;
  readonly digest: string | undefined;
  readonly details: RegistryErrorDetail[];
  readonly credentialSource: CredentialSource | undefined;

  constructor(code: RegistryErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.status = options.status;
    this.registry = options.registry;
    this.repository = options.repository;
    this.digest = options.digest;
    this.details = options.details ?? [];
    this.credentialSource = options.credentialSource;
  }
}

/** Reads the spec's error envelope from a response body; returns [] when the body is not one. */
export function parseErrorEnvelope(body: string): RegistryErrorDetail[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return [];
  }
  const errors = (value as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter(
      (entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null,
    )
    .map((entry) => ({
      code: typeof entry.code === 'string' ? entry.code : 'UNKNOWN',
      message: typeof entry.message === 'string' ? entry.message : '',
      ...(entry.detail === undefined ? {} : { detail: entry.detail }),
    }));
}

const HINTS: Partial<Record<RegistryErrorCode, string>> = {
  UNAUTHORIZED:
    'Log in to the registry (docker config, a credential helper, or explicit credentials).',
  DENIED:
    'The credentials lack permission for this repository; check the account and the repository name.',
  NAME_UNKNOWN: 'Check the repository name; it does not exist in the registry.',
  MANIFEST_UNKNOWN: 'Check the tag or digest; the registry has no such manifest.',
  BLOB_UNKNOWN: 'The registry lost or never had this blob; push the image again.',
  MANIFEST_BLOB_UNKNOWN: 'Push every blob the manifest references before the manifest.',
  TOOMANYREQUESTS: 'The registry rate-limits requests; wait, log in, or use a mirror.',
  DIGEST_INVALID:
    'The uploaded content does not match its digest; rebuild the blob and push again.',
  UNSUPPORTED: 'The registry does not support this operation.',
};

interface ResponseContext {
  method: string;
  status: number;
  body: string;
  registry: string;
  repository?: string;
  digest?: string;
  /** Subject of the request, such as "manifest latest" or "blob sha256:...". */
  what: string;
}

/** Builds a typed error from an unexpected response, using the spec's error envelope when present. */
export function errorFromResponse(context: ResponseContext): RegistryError {
  const details = parseErrorEnvelope(context.body);
  const first = details[0];
  const code = statusCode(first?.code, context.status);
  const where =
    context.repository === undefined
      ? context.registry
      : `${context.registry}/${context.repository}`;
  const reason = first ? `${first.code}: ${first.message}` : `HTTP ${context.status}`;
  return new RegistryError(
    code,
    `${context.method} ${context.what} on ${where} failed: ${reason}`,
    {
      hint: HINTS[code] ?? `The registry answered HTTP ${context.status}.`,
      status: context.status,
      registry: context.registry,
      repository: context.repository,
      digest: context.digest,
      details,
    },
  );
}

function statusCode(specCode: string | undefined, status: number): RegistryErrorCode {
  if (specCode !== undefined && SPEC_CODES.has(specCode)) return specCode as RegistryErrorCode;
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 429) return 'TOOMANYREQUESTS';
  return 'HTTP_ERROR';
}
