import type { Readable } from 'node:stream';

/** What `save` stored: where (relative to the storage root), its hash and size, and whether it was new. */
export interface StoredFile {
  /** `<sha256[0..2]>/<sha256>.onnx`, the value kept in `models.file_path`. */
  relativePath: string;
  sha256: string;
  size: number;
  /** False when a file with the same content was already stored (content addressing makes saves idempotent). */
  created: boolean;
}

export interface OpenedFile {
  stream: Readable;
  size: number;
}

/**
 * Model file storage, addressed by content hash: the same bytes always land at the same path, and a client's
 * file name never becomes part of a path. An abstract class so it is both the interface and the injection token;
 * `LocalDiskStorageService` implements it now, an S3-compatible store can later.
 */
export abstract class StorageService {
  /** Stores `bytes` under their sha256 (atomically: a reader never sees a half-written file). */
  abstract save(bytes: Buffer): Promise<StoredFile>;
  /**
   * Absolute local path of a stored file, e.g. for `LoadableModel.filePath`. Throws on anything that is not a
   * path `save` returned, so a stored value can never point outside the storage root.
   */
  abstract absolutePath(relativePath: string): string;
  abstract exists(relativePath: string): Promise<boolean>;
  /** A read stream and the size; throws AppError NOT_FOUND when the file is missing. */
  abstract open(relativePath: string): Promise<OpenedFile>;
  /** The whole file. */
  abstract read(relativePath: string): Promise<Buffer>;
  /** Deletes a stored file; a missing file is not an error. */
  abstract remove(relativePath: string): Promise<void>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const RELATIVE_PATH = /^([0-9a-f]{2})\/([0-9a-f]{64})\.onnx$/;

/** The relative path of a model file with this content hash. */
export function modelFilePath(sha256: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256 hex digest: ${sha256}`);
  return `${sha256.slice(0, 2)}/${sha256}.onnx`;
}

/** True for exactly the paths `modelFilePath` makes (shard prefix matching the hash). */
export function isModelFilePath(relativePath: string): boolean {
  const match = RELATIVE_PATH.exec(relativePath);
  return match !== null && match[2].startsWith(match[1]);
}
