export { RegistryClient } from './client.js';
export type { PushImageBlob, PushImageInput, PushImageResult } from './client.js';

export { RegistryError, parseErrorEnvelope } from './errors.js';
export type { RegistryErrorCode, RegistryErrorDetail, RegistryErrorOptions } from './errors.js';

export { describeCredentialSource } from './credential-hint.js';
export type { CredentialSource } from './credentials.js';

export { parseChallenge } from './challenge.js';
export type { Challenge } from './challenge.js';

export { MANIFEST_ACCEPT } from './pull.js';
export type { ManifestResult, ResolvedImage } from './pull.js';
export type { BlobOpener, PushBlobOptions, PushBlobOutcome } from './push.js';

export type { Credentials, HostSelector, RegistryClientOptions, RetryOptions } from './options.js';
export type { RegistryEvent } from './events.js';
