import type { EntryField } from './tree.js';
import type { ConfigField } from './config-diff.js';

/**
 * A difference to accept, with the reason it is legitimate. `path` is a glob over absolute
 * image paths: `*` matches within one path segment, `**` matches across segments.
 */
export interface IgnoreRule {
  path?: string;
  /** Entry fields to accept at `path`; all differences at the path, its absence included, when omitted. */
  fields?: EntryField[];
  /** Accept only the path's presence in this image alone, no other difference at it. */
  onlyIn?: 'a' | 'b';
  /** A config field to accept. */
  config?: ConfigField;
  reason: string;
}

/** Files that differ between any two builds of the same Debian Dockerfile, with any builder. */
export const BUILD_NOISE_IGNORES: readonly IgnoreRule[] = [
  {
    path: '/var/cache/ldconfig/aux-cache',
    reason: 'ldconfig records inode numbers and timestamps of the libraries it scanned',
  },
  {
    path: '/var/log/**',
    reason: 'dpkg, apt and alternatives logs carry the time of each package operation',
  },
  {
    path: '/var/cache/debconf/*-old',
    reason: 'debconf keeps the previous database, which differs with the order of package scripts',
  },
  {
    path: '/var/lib/dpkg/*-old',
    reason: 'dpkg keeps the previous status file, whose content depends on when it was copied',
  },
  {
    path: '/etc/shadow*',
    fields: ['size', 'digest'],
    reason: 'useradd and passwd write the day of the last password change',
  },
  {
    path: '/etc/hostname',
    reason: 'a builder may write the build container hostname',
  },
  {
    path: '/root/.cache/**',
    reason: 'tools such as pip and npm keep timestamped caches in the home directory',
  },
  {
    path: '/root/.npm/**',
    reason: 'npm writes timestamped logs and an index cache under ~/.npm',
  },
  {
    path: '/var/cache/apt/*.bin',
    fields: ['size', 'digest'],
    reason: 'apt binary caches embed the mtimes of the package lists they were built from',
  },
  {
    path: '/var/lib/apt/extended_states',
    fields: ['size', 'digest'],
    reason: 'apt lists automatically installed packages in resolver order',
  },
  {
    path: '/**/__pycache__/**',
    reason: 'Python bytecode embeds source mtimes',
  },
];

/** Compiles a path glob to a regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      // `/**/` also matches a single `/`, so `/a/**/b` matches `/a/b`.
      if (glob[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}
