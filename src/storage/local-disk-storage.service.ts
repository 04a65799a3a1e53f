import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { AppError } from '../common/app-error';
import type { AppConfig } from '../config/app.config';
import { isModelFilePath, modelFilePath, OpenedFile, StorageService, StoredFile } from './storage.service';

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Model files on the local disk under `STORAGE_DIR`. */
@Injectable()
export class LocalDiskStorageService extends StorageService {
  private readonly root: string;

  constructor(config: ConfigService<AppConfig, true>) {
    super();
    this.root = path.resolve(config.get('storageDir', { infer: true }));
  }

  async save(bytes: Buffer): Promise<StoredFile> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const relativePath = modelFilePath(sha256);
    const target = this.absolutePath(relativePath);
    const stored = { relativePath, sha256, size: bytes.length };
    if (await this.exists(relativePath)) return { ...stored, created: false };

    await mkdir(path.dirname(target), { recursive: true });
    // A temp file in the same directory (same file system), then rename: readers see all or nothing.
    const temp = path.join(
      path.dirname(target),
      `.tmp-${sha256.slice(0, 12)}-${randomBytes(6).toString('hex')}`,
    );
    try {
      const handle = await open(temp, 'wx', 0o640);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    return { ...stored, created: true };
  }

  absolutePath(relativePath: string): string {
    if (!isModelFilePath(relativePath)) throw new Error(`not a stored model file path: ${relativePath}`);
    return path.join(this.root, relativePath);
  }

  async exists(relativePath: string): Promise<boolean> {
    try {
      return (await stat(this.absolutePath(relativePath))).isFile();
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async open(relativePath: string): Promise<OpenedFile> {
    const file = this.absolutePath(relativePath);
    try {
      const handle = await open(file, 'r');
      const { size } = await handle.stat();
      return { stream: createReadStream(file, { fd: handle }), size };
    } catch (err) {
      if (isNotFound(err)) throw new AppError('NOT_FOUND', 'The model file is missing from storage');
      throw err;
    }
  }

  async read(relativePath: string): Promise<Buffer> {
    try {
      return await readFile(this.absolutePath(relativePath));
    } catch (err) {
      if (isNotFound(err)) throw new AppError('NOT_FOUND', 'The model file is missing from storage');
      throw err;
    }
  }

  async remove(relativePath: string): Promise<void> {
    try {
      await unlink(this.absolutePath(relativePath));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
