import { describe, expect, it } from 'vitest';
import type { SnapshotChangeSet } from '@kiln/fs-snapshot';
import { withoutPlaceholderDirs } from './single-snapshot.js';

function changeSet(...paths: string[]): SnapshotChangeSet {
  return { root: '/rootfs', entries: paths.map((path) => ({ path, kind: 'add' })), hardlinks: [] };
}

const paths = (changes: SnapshotChangeSet) => changes.entries.map((entry) => entry.path);

describe('withoutPlaceholderDirs', () => {
  it('drops a directory only placeholders touched', () => {
    const result = withoutPlaceholderDirs(changeSet('b.txt', 'etc'), new Map([['etc', true]]));
    expect(paths(result)).toEqual(['b.txt']);
  });

  it('keeps a directory a command changed', () => {
    const result = withoutPlaceholderDirs(changeSet('etc'), new Map([['etc', false]]));
    expect(paths(result)).toEqual(['etc']);
  });

  it('keeps a directory with changes below it', () => {
    const result = withoutPlaceholderDirs(changeSet('etc', 'etc/passwd'), new Map([['etc', true]]));
    expect(paths(result)).toEqual(['etc', 'etc/passwd']);
  });

  it('keeps an opaque directory', () => {
    const changes: SnapshotChangeSet = {
      root: '/rootfs',
      entries: [
        { path: 'etc', kind: 'add' },
        { path: 'etc', kind: 'opaque' },
      ],
      hardlinks: [],
    };
    expect(withoutPlaceholderDirs(changes, new Map([['etc', true]])).entries).toHaveLength(2);
  });

  it('keeps everything without placeholders', () => {
    expect(paths(withoutPlaceholderDirs(changeSet('etc'), undefined))).toEqual(['etc']);
  });
});
