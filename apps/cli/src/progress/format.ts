/** Formats a byte count with binary units: `512 B`, `1.5 KiB`, `12.0 MiB`, `1.20 GiB`. */
export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 ** 2) return `${(size / 1024).toFixed(1)} KiB`;
  if (size < 1024 ** 3) return `${(size / 1024 ** 2).toFixed(1)} MiB`;
  return `${(size / 1024 ** 3).toFixed(2)} GiB`;
}

/** Formats milliseconds as seconds with two decimals below a minute, else as `1m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/** Formats a transfer rate from bytes moved over milliseconds, or an empty string before any time passed. */
export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return '';
  return `${formatBytes(Math.round((bytes * 1000) / ms))}/s`;
}

/** Shortens `sha256:abcdef...` to its first 12 hex digits, as Docker prints image ids. */
export function shortDigest(digest: string): string {
  const hex = digest.includes(':') ? digest.slice(digest.indexOf(':') + 1) : digest;
  return hex.slice(0, 12);
}

/** Formats a count with its noun in the singular for 1 and the plural otherwise: `1 layer`, `2 layers`. */
export function formatCount(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
