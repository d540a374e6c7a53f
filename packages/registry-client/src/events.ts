/** Progress and diagnostics of the registry client, delivered through the `onEvent` option. */
export type RegistryEvent =
  | {
      type: 'blob-progress';
      direction: 'push' | 'pull';
      repository: string;
      digest: string;
      /** Bytes transferred so far in this attempt. */
      bytes: number;
      total: number | undefined;
    }
  | { type: 'blob-exists'; repository: string; digest: string }
  | { type: 'blob-mounted'; repository: string; from: string; digest: string }
  | { type: 'blob-pushed'; repository: string; digest: string; size: number }
  | { type: 'blob-pulled'; repository: string; digest: string; size: number; resumed: number }
  | {
      type: 'manifest-pushed';
      repository: string;
      reference: string;
      digest: string;
      mediaType: string;
    }
  | {
      type: 'retry';
      method: string;
      /** Host and path of the request, without query. */
      target: string;
      attempt: number;
      delayMs: number;
      reason: string;
    }
  | { type: 'fallback'; from: string; to: string; reason: string }
  /** The image has one platform, and it is not the requested one; it is used anyway. */
  | { type: 'platform-mismatch'; reference: string; requested: string; actual: string };
