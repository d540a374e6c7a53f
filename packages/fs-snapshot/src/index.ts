export { createSnapshotter } from './create-snapshotter.js';
export type { CreateSnapshotterOptions, SnapshotterEvent } from './create-snapshotter.js';
export type { Snapshotter } from './snapshotter.js';
export { WalkSnapshotter } from './walk-snapshotter.js';
export type { SnapshotChangeSet } from './walk-snapshotter.js';
export { OverlaySnapshotter } from './overlay/overlay-snapshotter.js';
export type {
  OverlayPrepareOptions,
  OverlaySnapshotterOptions,
  PreparedOverlay,
} from './overlay/overlay-snapshotter.js';
export { LayeredOverlaySnapshotter } from './overlay/layered-overlay.js';
export { probeOverlay } from './overlay/probe.js';
export type { OverlayProbe } from './overlay/probe.js';
export { changeSetFromUpperDir } from './overlay/upper-changes.js';
export { takeSnapshot, DEFAULT_RACY_MARGIN_NS } from './snapshot.js';
export type { ChangeDetection, Snapshot, SnapshotOptions } from './snapshot.js';
export { diffSnapshots } from './diff.js';
export type { DiffOptions } from './diff.js';
export { findHardlinkGroups } from './hardlinks.js';
export { sameStat } from './file-record.js';
export { RecordTable } from './record-table.js';
export type { FileRecord, FileType } from './file-record.js';
export {
  IgnoreList,
  SYSTEM_IGNORE_PATHS,
  normalizeIgnorePath,
  mountPointsUnder,
} from './ignore.js';
export type { IgnoreOptions } from './ignore.js';
export { parseMountInfo, readMountInfo, unescapeMountPath } from './mountinfo.js';
export type { MountInfoEntry } from './mountinfo.js';
export { SnapshotError } from './errors.js';
export type { SnapshotErrorCode, SnapshotErrorOptions } from './errors.js';
export type { ChangeSet, ChangeSetEntry } from './change-set.js';
