// NOTE: these mirror the ChangeSet types of @kiln/layer-writer, whose index does not export them
// yet; switch to `import type` from it once it does, so both packages share one definition.

/** One path of a change set, relative to the change set's root, POSIX, with no leading slash. */
export interface ChangeSetEntry {
  path: string;
  /**
   * `add`: the file at root/path as it is now (a directory adds only its own entry);
   * `delete`: a whiteout `.wh.NAME`; `opaque`: a `DIR/.wh..wh..opq` marker.
   */
  kind: 'add' | 'delete' | 'opaque';
}

/** The paths a layer holds, read from `root`. */
export interface ChangeSet {
  root: string;
  entries: ChangeSetEntry[];
}
