import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const SDK_SRC = path.join(ROOT, 'sdk', 'src');
const run = promisify(execFile);

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory() ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
    )
    .sort();
}

describe('the generated SDK (sdk/)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'modelport-sdk-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('equals what `npm run sdk` generates from the committed openapi.json (run it when this fails)', async () => {
    const fresh = path.join(dir, 'src');
    await run(process.execPath, [path.join(ROOT, 'scripts/sdk.js'), fresh], { cwd: ROOT });
    const expected = listFiles(fresh);
    expect(listFiles(SDK_SRC)).toEqual(expected);
    const stale = expected.filter((file) => readFileSync(path.join(fresh, file), 'utf8') !== readFileSync(path.join(SDK_SRC, file), 'utf8'));
    if (stale.length) throw new Error(`sdk/src is stale (${stale.join(', ')}): run \`npm run sdk\` and commit the result`);
  }, 120_000);

  it('has one function per operation of openapi.json', () => {
    const doc = JSON.parse(readFileSync(path.join(ROOT, 'openapi.json'), 'utf8')) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    const sdk = readFileSync(path.join(SDK_SRC, 'sdk.gen.ts'), 'utf8');
    for (const id of ids) expect({ id, exported: sdk.includes(`export const ${id} =`) }).toEqual({ id, exported: true });
  });

  it('builds on its own with `tsc -p sdk` (no dependency on the service code)', async () => {
    const out = path.join(dir, 'dist');
    await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'sdk', '--outDir', out], { cwd: ROOT }).catch(
      (error: { stdout?: string }) => {
        throw new Error(`tsc -p sdk failed:\n${error.stdout ?? ''}`);
      },
    );
    const built = listFiles(out);
    expect(built).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'sdk.gen.js', 'types.gen.d.ts']));
    for (const file of listFiles(SDK_SRC)) {
      const source = readFileSync(path.join(SDK_SRC, file), 'utf8');
      expect({ file, importsService: /from '\.\.\/\.\.\/src|@nestjs/.test(source) }).toEqual({ file, importsService: false });
    }
  }, 120_000);
});
