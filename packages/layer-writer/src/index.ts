export { applyLayer } from './apply-layer.js';
export { directoryChangeSet } from './change-set.js';
export { LayerError } from './errors.js';
export { ParallelGzip } from './gzip-parallel.js';
export { readOwnerNames } from './owner-names.js';
export { writeLayer } from './write-layer.js';

export type { ApplyLayerOptions } from './apply-layer.js';
export type { ChangeSet, ChangeSetEntry } from './change-set.js';
export type { LayerSource } from './decompress.js';
export type { LayerErrorCode } from './errors.js';
export type { ParallelGzipOptions } from './gzip-parallel.js';
export type { OwnerNames } from './owner-names.js';
export type { LayerResult, WriteLayerOptions } from './write-layer.js';
