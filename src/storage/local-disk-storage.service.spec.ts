import type { ConfigService } from '@nestjs/config';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AppError } from '../common/app-error';
import type { AppConfig } from '../config/app.config';
import { LocalDiskStorageService } from './local-disk-storage.service';
import { isModelFilePath } from './storage.service';

describe('LocalDiskStorageService', () => {
  let root: string;
  let storage: LocalDiskStorageService;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'modelport-storage-spec-'));
    const config = { get: () => root } as unknown as ConfigService<AppConfig, true>;
    storage = new LocalDiskStorageService(config);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('stores bytes under their sha256, once, without leaving temp files', async () => {
    const bytes = Buffer.from('onnx bytes');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const first = await storage.save(bytes);
    expect(first).toEqual({
      relativePath: `${sha256.slice(0, 2)}/${sha256}.onnx`,
      sha256,
      size: 10,
      created: true,
    });
    expect((await storage.save(bytes)).created).toBe(false);
    expect(readFileSync(path.join(root, first.relativePath)).equals(bytes)).toBe(true);
    expect(readdirSync(path.join(root, sha256.slice(0, 2)))).toEqual([`${sha256}.onnx`]);
    expect(storage.absolutePath(first.relativePath)).toBe(path.join(root, first.relativePath));
    expect(await storage.exists(first.relativePath)).toBe(true);
    expect((await storage.read(first.relativePath)).equals(bytes)).toBe(true);
  });

  it('streams a stored file with its size', async () => {
    const { relativePath } = await storage.save(Buffer.from('stream me'));
    const { stream, size } = await storage.open(relativePath);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(size).toBe(9);
    expect(Buffer.concat(chunks).toString()).toBe('stream me');
  });

  it('removes a file, and a missing file is no error', async () => {
    const { relativePath } = await storage.save(Buffer.from('bye'));
    await storage.remove(relativePath);
    expect(await storage.exists(relativePath)).toBe(false);
    await expect(storage.remove(relativePath)).resolves.toBeUndefined();
    await expect(storage.open(relativePath)).rejects.toBeInstanceOf(AppError);
  });

  it.each([
    '../etc/passwd',
    '/etc/passwd',
    'ab/../../x.onnx',
    `ab/${'c'.repeat(64)}.onnx`,
    `${'a'.repeat(2)}/${'a'.repeat(64)}.onnx/../x`,
    'model.onnx',
  ])('refuses the path %j', (relativePath) => {
    expect(isModelFilePath(relativePath)).toBe(false);
    expect(() => storage.absolutePath(relativePath)).toThrow();
  });
});
