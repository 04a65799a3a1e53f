#!/usr/bin/env node
'use strict';

/**
 * `node bench/micro.js`: per-call cost of the hot-path steps that are not visible one by one under HTTP load,
 * each against the way it would cost without the optimisation, on the built service code (dist/):
 *   - the input validator: Ajv compile per request vs the compiled validator reused (what InputValidators does);
 *   - tensors: `Array.prototype.flat` + `Float32Array.from` vs the codec's walk into a preallocated typed array;
 *   - the request body: the global ValidationPipe path (class-transformer `plainToInstance` + class-validator)
 *     vs the prediction route's shallow `parseCreatePredictionBody` (ajv validates `input` afterwards anyway).
 * Alternates the two sides in rounds and prints the median µs per call.
 */
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const ROOT = path.resolve(__dirname, '..');
const DIST = process.env.BENCH_DIST ? path.resolve(process.env.BENCH_DIST) : path.join(ROOT, 'dist');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'models');
require(require.resolve('reflect-metadata', { paths: [ROOT] }));
const { compileInputValidator, deriveInputSchema } = require(path.join(DIST, 'src/inference/json-schema.js'));
const { encodeTensor } = require(path.join(DIST, 'src/inference/tensor-codec.js'));
const { parseCreatePredictionBody } = require(path.join(DIST, 'src/predictions/prediction-body.js'));
const { CreatePredictionDto } = require(path.join(DIST, 'src/predictions/dto/prediction.dto.js'));
const { plainToInstance } = require(require.resolve('class-transformer', { paths: [ROOT] }));
const { validateSync } = require(require.resolve('class-validator', { paths: [ROOT] }));

function caseInput(model, rows) {
  const cases = JSON.parse(fs.readFileSync(path.join(FIXTURES, model, 'cases.json'), 'utf8'));
  const t = Object.values(cases.cases[0].inputs)[0];
  let o = 0;
  const build = (d) => {
    const out = [];
    for (let i = 0; i < t.dims[d]; i++) out.push(d === t.dims.length - 1 ? t.data[o++] : build(d + 1));
    return out;
  };
  const all = build(0);
  return Array.from({ length: rows }, (_, i) => all[i % all.length]);
}

/** Median µs per call of `fn` over `rounds` rounds of `n` calls. */
function measure(fn, n, rounds = 7) {
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    per.push(((performance.now() - t0) * 1000) / n);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

function compare(label, before, after, n) {
  // warm both, then alternate
  measure(before, Math.max(1, n / 10), 1);
  measure(after, Math.max(1, n / 10), 1);
  const b = [];
  const a = [];
  for (let i = 0; i < 3; i++) {
    b.push(measure(before, n, 3));
    a.push(measure(after, n, 3));
  }
  const med = (xs) => xs.sort((x, y) => x - y)[1];
  const row = { step: label, beforeUs: Number(med(b).toFixed(1)), afterUs: Number(med(a).toFixed(1)) };
  row.speedup = Number((row.beforeUs / row.afterUs).toFixed(1));
  console.log(
    `${label.padEnd(58)} before ${String(row.beforeUs).padStart(9)} µs   after ${String(row.afterUs).padStart(8)} µs   ×${row.speedup}`,
  );
  return row;
}

const mnist = caseInput('pt-mnist-mlp', 1);
const genre = caseInput('tf-keras-genre14', 32);
const mnistSpec = { name: 'network_input', elementType: 'float32', shape: [1, 784] };
const genreSpec = { name: 'flatten_input', elementType: 'float32', shape: ['N', 130, 13] };
const mnistSchema = deriveInputSchema([mnistSpec]);
const limits = { maxElements: 10_000_000, batchOfOne: true };

const rows = [];
rows.push(
  compare(
    'input validator, pt-mnist-mlp: compile per request → once',
    () => {
      // A fresh schema object each time, as if nothing were cached (the helper caches by text: defeat it).
      const schema = JSON.parse(JSON.stringify(mnistSchema));
      schema.description = String(Math.random());
      compileInputValidator(schema)({ network_input: mnist });
    },
    (() => {
      const validate = compileInputValidator(mnistSchema);
      return () => validate({ network_input: mnist });
    })(),
    20,
  ),
);
rows.push(
  compare(
    'tensor, pt-mnist-mlp 1×784: flat() + Float32Array.from → walk',
    () => Float32Array.from(mnist.flat(Infinity)),
    () => encodeTensor(mnistSpec, mnist, limits),
    2000,
  ),
);
rows.push(
  compare(
    'tensor, tf-keras-genre14 32×130×13: flat() → walk',
    () => Float32Array.from(genre.flat(Infinity)),
    () => encodeTensor(genreSpec, genre, { maxElements: 10_000_000 }),
    50,
  ),
);
for (const [label, input, n] of [
  ['body, pt-mnist-mlp: class-transformer + validate → shallow', mnist, 500],
  ['body, tf-keras-genre14 batch 32: class-transformer → shallow', genre, 5],
]) {
  rows.push(
    compare(
      label,
      () => {
        const dto = plainToInstance(CreatePredictionDto, { input }, {});
        validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
      },
      () => parseCreatePredictionBody({ input }),
      n,
    ),
  );
}

if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
