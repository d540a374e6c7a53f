import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Name of the record that lists the validators and the content file of a stored download. */
const RECORD_FILE = 'record.json';

/** Validators of a stored download, sent back as If-None-Match and If-Modified-Since. */
export interface DownloadValidators {
  etag?: string | undefined;
  lastModified?: string | undefined;
}

/** The stored record: the URL, its validators, and the content file name (the content's hex SHA-256). */
interface DownloadRecord extends DownloadValidators {
  url: string;
  content: string;
}

/** A stored download whose content file is open, so a concurrent update cannot swap it. */
export interface StoredDownload extends DownloadValidators {
  content: FileHandle;
}

/**
 * Downloads kept between builds under a cache directory, one directory per URL (named by the
 * SHA-256 of the URL): the content in a file named by its SHA-256 and a record with the validators
 * the server sent. Every file is written to a temp name and renamed, and the record goes last.
 */
export class DownloadStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Opens the stored download of `url`; undefined when none is stored or it cannot be read. */
  async open(url: string): Promise<StoredDownload | undefined> {
    const entry = this.#entryDir(url);
    const text = await readFile(path.join(entry, RECORD_FILE), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const record = parseRecord(text);
    if (record === undefined || record.url !== url) return undefined;
    const content = await open(path.join(entry, record.content)).catch(() => undefined);
    if (content === undefined) return undefined;
    return { etag: record.etag, lastModified: record.lastModified, content };
  }

  /**
   * Stores `file` (whose content has the hex SHA-256 `digest`) as the download of `url` with its
   * validators, replacing what was stored before.
   */
  async save(
    url: string,
    file: string,
    digest: string,
    validators: DownloadValidators,
  ): Promise<void> {
    const entry = this.#entryDir(url);
    await mkdir(entry, { recursive: true });
    await copyAtomically(file, path.join(entry, digest));
    const record: DownloadRecord = { url, ...validators, content: digest };
    const temp = tempName(path.join(entry, RECORD_FILE));
    await writeFile(temp, JSON.stringify(record));
    await rename(temp, path.join(entry, RECORD_FILE));
    // Content files of earlier versions go, and a reader that opened one keeps its open handle.
    for (const name of await readdir(entry)) {
      if (name !== RECORD_FILE && name !== digest && !name.includes('.tmp-'))
        await rm(path.join(entry, name), { force: true });
    }
  }

  /** Removes the stored download of `url`, for a server that no longer sends validators. */
  async remove(url: string): Promise<void> {
    await rm(this.#entryDir(url), { recursive: true, force: true });
  }

  #entryDir(url: string): string {
    return path.join(this.#dir, createHash('sha256').update(url).digest('hex'));
  }
}

/** Reads a record, or returns undefined for one that is damaged or from another version. */
function parseRecord(text: string): DownloadRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { url, etag, lastModified, content } = value as Record<string, unknown>;
  const optionalText = (field: unknown): boolean =>
    field === undefined || typeof field === 'string';
  if (typeof url !== 'string' || typeof content !== 'string' || !/^[0-9a-f]{64}$/.test(content))
    return undefined;
  if (!optionalText(etag) || !optionalText(lastModified)) return undefined;
  return {
    url,
    content,
    etag: etag as string | undefined,
    lastModified: lastModified as string | undefined,
  };
}

async function copyAtomically(from: string, to: string): Promise<void> {
  const temp = tempName(to);
  try {
    await copyFile(from, temp);
    await rename(temp, to);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function tempName(file: string): string {
  return `${file}.tmp-${randomBytes(6).toString('hex')}`;
}
