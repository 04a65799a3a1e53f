#!/usr/bin/env node
// `npm run sdk [-- <dir>]`: generates the TypeScript SDK in sdk/src from the committed openapi.json with the pinned
// @hey-api/openapi-ts (fetch client, types, one function per operationId). Never edit sdk/src by hand; run this.

const { execFileSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const output = path.resolve(process.argv[2] ?? path.join(root, 'sdk', 'src'));
const bin = path.join(root, 'node_modules', '@hey-api', 'openapi-ts', 'bin', 'run.js');

rmSync(output, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    bin,
    '--input',
    path.join(root, 'openapi.json'),
    '--output',
    output,
    '--client',
    '@hey-api/client-fetch',
    '--plugins',
    '@hey-api/typescript',
    '@hey-api/sdk',
    '--no-log-file',
    '--silent',
  ],
  { cwd: root, stdio: 'inherit' },
);
console.log(`Wrote the SDK to ${path.relative(process.cwd(), output) || output}`);
