// The change set types are defined by the layer writer, which consumes them.
export type { ChangeSet, ChangeSetEntry } from '@kiln/layer-writer';
