#!/usr/bin/env node
// `npm run openapi [-- <file>]`: writes openapi.json from the source, without a database, Redis or a port.
// It compiles src/ with ts-node and the same Swagger CLI plugin transformer that `nest build` and the Jest tests
// use (test/support/swagger-transformer.js), so the file equals what the contract test regenerates.

const path = require('node:path');
const transformer = require('../test/support/swagger-transformer.js');

require('ts-node').register({
  project: path.join(__dirname, '..', 'tsconfig.json'),
  // The plugin needs the type checker, so no transpile-only; type errors elsewhere are the typecheck's job.
  transpileOnly: false,
  logError: true,
  transformers: (program) => ({ before: [transformer.factory({ program })] }),
});

const { writeOpenApiFile } = require('../src/bin/openapi.ts');
writeOpenApiFile(process.argv[2] ? path.resolve(process.argv[2]) : undefined).catch((error) => {
  console.error(error);
  process.exit(1);
});
